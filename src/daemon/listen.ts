import { ErrorCode, LifeboatError } from '../errors/index.js';

export const DEFAULT_LISTEN = '127.0.0.1:8528';

/** `host:port` or `[v6]:port` → parts; the host is loopback unless configured otherwise. */
export function parseListen(text: string): { host: string; port: number; loopback: boolean } {
  const m = /^\[([0-9a-f:]+)\]:(\d+)$/i.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new LifeboatError(ErrorCode.Config, `server.listen "${text}" is not host:port`, {
      hint: `e.g. ${DEFAULT_LISTEN}`,
    });
  const host = m[1]!;
  return { host, port, loopback: host === 'localhost' || host === '::1' || /^127\./.test(host) };
}
