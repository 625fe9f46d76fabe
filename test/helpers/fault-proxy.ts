import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, with switchable network
 * faults for the storage drivers' tests:
 *
 *   const proxy = await startFaultProxy(server.port);
 *   proxy.setFault((conn) => (conn < 3 ? { kind: 'drop-after', bytes: 500_000, direction: 'upstream' } : { kind: 'pass' }));
 *
 * The fault is chosen per connection (its 0-based index) when it is accepted,
 * except `stall` and `latency`, which apply to every connection from the moment
 * they are set. Bytes are forwarded in order; a drop resets both sides (RST)
 * right after exactly `bytes` bytes went through in that direction.
 */
export type ProxyFault =
  /** Forward everything. */
  | { kind: 'pass' }
  /** Reset the connection once `bytes` bytes went client→server (`upstream`), server→client (`downstream`) or either way. */
  | { kind: 'drop-after'; bytes: number; direction: 'upstream' | 'downstream' | 'either' }
  /** Stop forwarding for `ms` (data is held, then delivered), from now on. */
  | { kind: 'stall'; ms: number }
  /** Accept and at once reset new connections (as a refusing or crashed server looks to a client). */
  | { kind: 'refuse' }
  /** Delay every chunk by `ms`. */
  | { kind: 'latency'; ms: number };

export type FaultSchedule = ProxyFault | ((connection: number) => ProxyFault);

export interface ProxyStats {
  connections: number;
  /** Connections reset by a drop-after or refuse fault, or by dropAll. */
  dropped: number;
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxy {
  port: number;
  stats: ProxyStats;
  setFault(schedule: FaultSchedule): void;
  /** Reset every open connection now. */
  dropAll(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  dead: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  let schedule: FaultSchedule = { kind: 'pass' };
  let stalledUntil = 0;
  let latencyMs = 0;
  const stats: ProxyStats = { connections: 0, dropped: 0, bytesUp: 0, bytesDown: 0 };
  const links = new Set<Link>();

  const kill = (link: Link, counted: boolean) => {
    if (link.dead) return;
    link.dead = true;
    if (counted) stats.dropped++;
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  };

  /** Forwards `from` → `to` in order, applying latency, stalls and the byte limit. */
  const pipe = (link: Link, from: net.Socket, to: net.Socket, limit: number, up: boolean) => {
    let sent = 0;
    let chain = Promise.resolve();
    let queued = 0;
    from.on('data', (chunk: Buffer) => {
      queued++;
      if (queued > 64) from.pause();
      const due = Date.now() + latencyMs;
      chain = chain.then(async () => {
        // Latency delays each chunk from its arrival, it does not add up across chunks.
        if (due > Date.now()) await sleep(due - Date.now());
        while (Date.now() < stalledUntil) await sleep(stalledUntil - Date.now());
        if (link.dead) return;
        const room = limit - sent;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        sent += part.length;
        if (up) stats.bytesUp += part.length;
        else stats.bytesDown += part.length;
        if (part.length > 0 && !to.write(part)) await new Promise((r) => to.once('drain', r));
        if (part.length < chunk.length) {
          // Let the allowed bytes leave before the reset.
          await sleep(20);
          kill(link, true);
        }
        if (--queued <= 64) from.resume();
      });
    });
    from.on('end', () => {
      chain = chain.then(() => {
        if (!link.dead) to.end();
      });
    });
  };

  // Half-open: a client's FIN is forwarded, not taken as the end of the whole connection.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const index = stats.connections++;
    const fault = typeof schedule === 'function' ? schedule(index) : schedule;
    const upstream = net.connect({ port: targetPort, host: targetHost, allowHalfOpen: true });
    const link: Link = { client, upstream, dead: false };
    links.add(link);
    // An error on either side ends both; clean closes propagate through the pipes (FIN after the data).
    const failed = () => {
      links.delete(link);
      kill(link, false);
    };
    client.on('error', failed);
    upstream.on('error', failed);
    let open = 2;
    const closed = () => {
      if (--open === 0) links.delete(link);
    };
    client.on('close', closed);
    upstream.on('close', closed);
    if (fault.kind === 'refuse') {
      kill(link, true);
      return;
    }
    if (fault.kind === 'stall') stalledUntil = Math.max(stalledUntil, Date.now() + fault.ms);
    if (fault.kind === 'latency') latencyMs = fault.ms;
    const limitUp = fault.kind === 'drop-after' && fault.direction !== 'downstream' ? fault.bytes : Infinity;
    const limitDown = fault.kind === 'drop-after' && fault.direction !== 'upstream' ? fault.bytes : Infinity;
    pipe(link, client, upstream, limitUp, true);
    pipe(link, upstream, client, limitDown, false);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    stats,
    setFault(next) {
      schedule = next;
      if (typeof next === 'function') {
        stalledUntil = 0;
        latencyMs = 0;
        return;
      }
      // stall and latency act on open connections too; any other fault ends them.
      stalledUntil = next.kind === 'stall' ? Date.now() + next.ms : 0;
      latencyMs = next.kind === 'latency' ? next.ms : 0;
    },
    dropAll() {
      for (const link of links) kill(link, true);
    },
    async close() {
      for (const link of links) kill(link, false);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
