import { close, lstat, open, read, readFile, type BigIntStats } from 'node:fs';

/**
 * Read a small file whose size lstat just reported: open, one read, close —
 * three system calls on the callback API, cheaper than `fs.promises.readFile`
 * (which also stats and wraps a FileHandle) when there are tens of thousands of
 * files. A file that grew meanwhile is read again whole.
 */
export function readSmallFile(path: string, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (err, fd) => {
      if (err) return reject(err);
      const buf = Buffer.allocUnsafe(size + 1);
      read(fd, buf, 0, size + 1, 0, (readErr, bytesRead) => {
        close(fd, (closeErr) => {
          if (readErr ?? closeErr) return reject(readErr ?? closeErr);
          if (bytesRead <= size) return resolve(buf.subarray(0, bytesRead));
          readFile(path, (again, data) => (again ? reject(again) : resolve(data)));
        });
      });
    });
  });
}

/** lstat with nanosecond times, on the lighter callback API (called once per entry). */
export function lstatBig(path: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) => lstat(path, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}
