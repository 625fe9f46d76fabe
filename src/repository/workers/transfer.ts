/**
 * Buffers crossing to and from worker threads are transferred, not copied. A
 * transfer detaches the whole underlying ArrayBuffer, so only a buffer that owns
 * its ArrayBuffer exactly may be transferred; a view into Node's shared pool is
 * copied into a buffer of its own first.
 *
 * @module
 */

/** Whether `buf` spans its whole ArrayBuffer (so transferring it detaches nothing else). */
export function ownsItsMemory(buf: Buffer): boolean {
  return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
}

export function ownBuffer(buf: Buffer): Buffer {
  if (ownsItsMemory(buf)) return buf;
  const copy = Buffer.from(new ArrayBuffer(buf.byteLength));
  buf.copy(copy);
  return copy;
}

export function transferList(buffers: Iterable<Buffer>): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const b of buffers) seen.add(b.buffer as ArrayBuffer);
  return [...seen];
}
