/** One verification check as reports show it: what was expected (recorded, or a target) and what was found. */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
  /** Why it failed, or what it means, in words. */
  detail?: string;
}
