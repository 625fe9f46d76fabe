/**
 * The views of alerts and notifiers as the alerting code produces them and the daemon's API
 * answers them (re-exported by daemon/api-types.ts). Type declarations only, importing nothing,
 * so the dashboard's compiler reads this file too.
 *
 * @module
 */

/** One alert; `rule` is one of the alert rules (docs/daemon.md), `severity` `critical` or `warning`. */
export interface AlertView {
  id: number;
  rule: string;
  severity: string;
  source?: string;
  repository?: string;
  job?: string;
  message: string;
  fired_at: string;
  resolved_at?: string;
}

/** How one notifier fared (the dispatcher keeps it in this shape). */
export interface NotifierView {
  type: string;
  name: string;
  last_ok?: string;
  last_error?: string;
  last_error_at?: string;
  failures: number;
}
