import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** The proxy's own faults, in front of a TCP echo server. */
let echo: net.Server;
let proxy: FaultProxy;

beforeAll(async () => {
  echo = net.createServer((s) => s.on('error', () => undefined).pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  proxy = await startFaultProxy((echo.address() as net.AddressInfo).port);
});
afterAll(async () => {
  await proxy.close();
  await new Promise((r) => echo.close(r));
});

interface Exchange {
  received: Buffer;
  /** 'end' for a clean close, 'reset'/'error' otherwise. */
  ended: 'end' | 'reset';
  ms: number;
}

/** Sends `data`, half-closes, and collects the echo until the connection ends. */
function exchange(data: Buffer): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const sock = net.connect(proxy.port, '127.0.0.1');
    let ended: Exchange['ended'] = 'end';
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => (ended = 'reset'));
    sock.on('close', () => resolve({ received: Buffer.concat(chunks), ended, ms: Date.now() - started }));
    sock.end(data);
  });
}

const payload = Buffer.alloc(200_000, 7);

describe('fault proxy', () => {
  it('passes data through unchanged', async () => {
    proxy.setFault({ kind: 'pass' });
    const r = await exchange(payload);
    expect(r.ended).toBe('end');
    expect(r.received.equals(payload)).toBe(true);
  });

  it('resets after exactly N bytes downstream', async () => {
    proxy.setFault({ kind: 'drop-after', bytes: 50_000, direction: 'downstream' });
    const r = await exchange(payload);
    expect(r.ended).toBe('reset');
    expect(r.received.length).toBe(50_000);
  });

  it('resets after N bytes upstream, so the server sees only a prefix', async () => {
    proxy.setFault({ kind: 'drop-after', bytes: 10_000, direction: 'upstream' });
    const r = await exchange(payload);
    expect(r.ended).toBe('reset');
    expect(r.received.length).toBeLessThanOrEqual(10_000);
  });

  it('chooses the fault per connection', async () => {
    const before = proxy.stats.connections;
    proxy.setFault((conn) => (conn === before ? { kind: 'refuse' } : { kind: 'pass' }));
    expect((await exchange(payload)).ended).toBe('reset');
    expect((await exchange(payload)).received.equals(payload)).toBe(true);
  });

  it('refuses new connections', async () => {
    proxy.setFault({ kind: 'refuse' });
    const dropped = proxy.stats.dropped;
    const r = await exchange(Buffer.from('hello'));
    expect(r.received.length).toBe(0);
    expect(proxy.stats.dropped).toBe(dropped + 1);
  });

  it('stalls, then delivers everything', async () => {
    proxy.setFault({ kind: 'stall', ms: 400 });
    const r = await exchange(Buffer.from('held back'));
    expect(r.received.toString()).toBe('held back');
    expect(r.ms).toBeGreaterThanOrEqual(350);
  });

  it('adds latency per chunk', async () => {
    proxy.setFault({ kind: 'latency', ms: 150 });
    const r = await exchange(Buffer.from('slow'));
    expect(r.received.toString()).toBe('slow');
    expect(r.ms).toBeGreaterThanOrEqual(280); // there and back
  });

  it('drops every open connection on demand', async () => {
    proxy.setFault({ kind: 'pass' });
    const sock = net.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('x');
    await new Promise((r) => sock.once('data', r));
    const closed = new Promise((r) => sock.once('close', r));
    sock.on('error', () => undefined);
    proxy.dropAll();
    await closed;
  });
});
