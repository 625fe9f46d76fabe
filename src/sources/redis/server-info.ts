import { ReplyError, type RespConnection } from './resp-connection.js';

/** `INFO <section>` as a map of its `name:value` lines. */
export async function info(connection: RespConnection, section: string): Promise<Record<string, string>> {
  const text = await connection.expect(['INFO', section]);
  return parseInfo(typeof text === 'string' ? text : '');
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** Keys and keys with a TTL per database, from `INFO keyspace` (`db0:keys=12,expires=3,avg_ttl=0`). */
export function parseKeyspace(fields: Record<string, string>): {
  keys: Record<string, number>;
  expiringKeys: Record<string, number>;
} {
  const keys: Record<string, number> = {};
  const expiringKeys: Record<string, number> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!/^db\d+$/.test(name)) continue;
    const numbers = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    keys[name] = Number(numbers.keys ?? 0);
    expiringKeys[name] = Number(numbers.expires ?? 0);
  }
  return { keys, expiringKeys };
}

/**
 * One `CONFIG GET` parameter: its value, undefined when the server does not
 * know it (older versions), or a ReplyError when the user may not read it.
 */
export async function configGet(connection: RespConnection, name: string): Promise<string | undefined | ReplyError> {
  const reply = await connection.call(['CONFIG', 'GET', name]);
  if (reply instanceof ReplyError) return reply;
  if (Array.isArray(reply) && reply.length >= 2 && typeof reply[1] === 'string') return reply[1];
  return undefined;
}
