/**
 * The documented API of `lifeboat serve`, same origin, with the token the
 * user logged in with. The token lives in sessionStorage only (gone when the
 * tab closes) and is never put into the page; a 401 logs out.
 */
const KEY = 'lifeboat.token';
const listeners = new Set<() => void>();

export function token(): string | null {
  return sessionStorage.getItem(KEY);
}

export function onAuthChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function logout(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}, t = token()): Record<string, string> {
  return { ...extra, ...(t ? { authorization: `Bearer ${t}` } : {}) };
}

async function fail(res: Response): Promise<never> {
  let code = 'error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    /* not JSON: keep the status line */
  }
  if (res.status === 401) logout();
  throw new ApiError(res.status, code, message);
}

/** Check a token against the API before keeping it. */
export async function login(candidate: string): Promise<void> {
  const res = await fetch('/api/v1/jobs', { headers: headers({}, candidate) });
  if (!res.ok) {
    if (res.status === 401) throw new ApiError(401, 'unauthorized', 'That token was not accepted.');
    await fail(res);
  }
  sessionStorage.setItem(KEY, candidate);
  listeners.forEach((l) => l());
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers(), ...(signal ? { signal } : {}) });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

export async function post<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) return fail(res);
  return (await res.json()) as T;
}

/** Download an API resource as a file (the token cannot go into a plain link). */
export async function download(path: string, filename: string): Promise<number> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) return fail(res);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

export const q = (params: Record<string, string | number | undefined | null>): string => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};
