'use strict';
/**
 * Runs s3rver (see s3.ts) with two fixes that make it behave like S3 where
 * Lifeboat depends on it. First, an upload becomes visible only when its whole
 * body arrived (see putObject below). Second, per-key atomicity. S3 replaces an
 * object whole — a reader sees the old or the new version — but s3rver's
 * filesystem store truncates the file in place and writes the metadata
 * separately, so a concurrent GET can stream half a file. Here every write of
 * a key waits for the reads of that key in progress (until their body stream
 * has closed) and reads wait for writes: a readers-writer lock per key, in
 * this one process. Third, bodies sent with the streaming SigV4 framing
 * (`aws-chunked`, which restic's S3 client uses over plain HTTP) are stored
 * decoded, as S3 stores them; s3rver would store the framing itself. Nothing
 * else about the server is changed.
 *
 * Usage: node --openssl-legacy-provider s3rver-launch.cjs DIR PORT
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const { PassThrough, Readable } = require('node:stream');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const [directory, port] = process.argv.slice(2);

/** key -> { readers, writing, waiting: [] } */
const locks = new Map();

function lockOf(id) {
  let lock = locks.get(id);
  if (!lock) {
    lock = { readers: 0, writing: false, waiting: [] };
    locks.set(id, lock);
  }
  return lock;
}

function wake(id) {
  const lock = locks.get(id);
  if (!lock) return;
  while (lock.waiting.length) {
    const next = lock.waiting[0];
    if (next.write ? lock.writing || lock.readers > 0 : lock.writing) break;
    lock.waiting.shift();
    if (next.write) lock.writing = true;
    else lock.readers++;
    next.resolve();
  }
  if (!lock.writing && lock.readers === 0 && lock.waiting.length === 0) locks.delete(id);
}

function acquire(id, write) {
  const lock = lockOf(id);
  return new Promise((resolve) => {
    lock.waiting.push({ write, resolve });
    wake(id);
  });
}

function release(id, write) {
  const lock = locks.get(id);
  if (write) lock.writing = false;
  else lock.readers--;
  wake(id);
}

async function exclusive(id, fn) {
  await acquire(id, true);
  try {
    return await fn();
  } finally {
    release(id, true);
  }
}

/** True for a request body in the `aws-chunked` framing (streaming SigV4, signed or with trailers). */
function isAwsChunked(headers) {
  if (!headers) return false;
  const sha = String(headers['x-amz-content-sha256'] || '');
  const encoding = String(headers['content-encoding'] || '');
  return sha.startsWith('STREAMING-') || encoding.split(',').some((e) => e.trim() === 'aws-chunked');
}

/**
 * A stream of the payload carried by an `aws-chunked` body: chunks of
 * `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`, ended by a chunk of size 0
 * (then optional trailers, ignored). Malformed framing, a body that ends early
 * or a payload whose length differs from `x-amz-decoded-content-length` is an
 * error, never stored.
 */
function decodeAwsChunked(body) {
  const expected = body.headers['x-amz-decoded-content-length'];
  let pending = Buffer.alloc(0);
  let remaining = -1; // payload bytes left in the current chunk; -1: a chunk header comes next
  let ended = false;
  let total = 0;
  const out = new PassThrough();
  const fail = (message) => {
    body.unpipe?.();
    out.destroy(new Error(`aws-chunked body: ${message}`));
  };
  body.on('data', (data) => {
    if (ended || out.destroyed) return;
    pending = pending.length ? Buffer.concat([pending, data]) : data;
    while (!ended) {
      if (remaining < 0) {
        const eol = pending.indexOf('\r\n');
        if (eol < 0) {
          if (pending.length > 4096) return fail('chunk header too long');
          return;
        }
        const size = parseInt(pending.subarray(0, eol).toString('latin1').split(';')[0], 16);
        if (!Number.isSafeInteger(size) || size < 0) return fail('bad chunk size');
        pending = pending.subarray(eol + 2);
        if (size === 0) {
          ended = true;
          break;
        }
        remaining = size;
      }
      // Payload, then the CRLF that closes the chunk.
      const take = Math.min(remaining, pending.length);
      if (take > 0) {
        out.write(pending.subarray(0, take));
        total += take;
        remaining -= take;
        pending = pending.subarray(take);
      }
      if (remaining > 0 || pending.length < 2) return;
      if (pending[0] !== 13 || pending[1] !== 10) return fail('chunk not followed by CRLF');
      pending = pending.subarray(2);
      remaining = -1;
    }
    if (out.writableNeedDrain) {
      body.pause();
      out.once('drain', () => body.resume());
    }
  });
  body.once('end', () => {
    if (!ended) return fail('the body ended before its last chunk');
    if (expected !== undefined && Number(expected) !== total)
      return fail(`${total} bytes decoded, x-amz-decoded-content-length says ${expected}`);
    out.end();
  });
  body.once('error', (err) => out.destroy(err));
  body.once('close', () => {
    if (!body.readableEnded) out.destroy(new Error('the client closed the connection before the whole body arrived'));
  });
  return out;
}

/** Metadata without the transfer-only `aws-chunked` content encoding, which S3 does not store. */
function withoutAwsChunked(metadata) {
  const encoding = metadata && metadata['content-encoding'];
  if (encoding === undefined) return;
  const rest = String(encoding)
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e && e !== 'aws-chunked');
  if (rest.length) metadata['content-encoding'] = rest.join(',');
  else delete metadata['content-encoding'];
}

const proto = FilesystemStore.prototype;
// Completing a multipart upload goes through putObject, so it takes the lock too.
const { getObject, deleteObject, putPart } = proto;
let incoming = 0;

proto.getObject = async function (bucket, key, options) {
  const id = `${bucket}/${key}`;
  await acquire(id, false);
  let object;
  try {
    object = await getObject.call(this, bucket, key, options);
  } catch (err) {
    release(id, false);
    throw err;
  }
  const stream = object && object.content;
  if (stream && typeof stream.once === 'function') {
    // Held until the body has been sent (or the client went away).
    let released = false;
    const done = () => {
      if (!released) {
        released = true;
        release(id, false);
      }
    };
    stream.once('close', done);
    stream.once('error', done);
    // Paths that answer without the body (304) never close the stream: do not hold the lock forever.
    setTimeout(done, 30_000).unref();
  } else {
    release(id, false);
  }
  return object;
};

/**
 * S3 makes an object visible only once the whole body arrived; s3rver writes
 * straight into the object's file, so a cut upload would truncate the stored
 * object. Write into a temporary file and rename it into place only when the
 * body ended; a client that goes away leaves the old object untouched.
 */
proto.putObject = function (object) {
  const chunked = isAwsChunked(object.content && object.content.headers);
  if (chunked) withoutAwsChunked(object.metadata);
  const id = `${object.bucket}/${object.key}`;
  return exclusive(id, async () => {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fsp.mkdir(path.dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.incoming-${process.pid}-${++incoming}`;
    const md5 = crypto.createHash('md5');
    let size = 0;
    try {
      if (Buffer.isBuffer(object.content)) {
        await fsp.writeFile(temp, object.content);
        md5.update(object.content);
        size = object.content.length;
      } else {
        await new Promise((resolve, reject) => {
          // Decoded from here on only: it starts reading, and these listeners must see its errors.
          const body = chunked ? decodeAwsChunked(object.content) : object.content;
          const out = fs.createWriteStream(temp);
          body.on('data', (chunk) => {
            md5.update(chunk);
            size += chunk.length;
          });
          body.once('error', reject);
          body.once('close', () => {
            if (!body.readableEnded)
              reject(new Error('the client closed the connection before the whole body arrived'));
          });
          out.once('error', reject);
          out.once('finish', resolve);
          body.pipe(out);
        });
      }
      await fsp.rename(temp, objectPath);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  });
};

proto.putPart = async function (bucket, uploadId, partNumber, content) {
  if (!isAwsChunked(content && content.headers)) return putPart.call(this, bucket, uploadId, partNumber, content);
  // Decoded whole first: s3rver's putPart does not listen for errors of the stream it is given.
  const chunks = [];
  for await (const chunk of decodeAwsChunked(content)) chunks.push(chunk);
  return putPart.call(this, bucket, uploadId, partNumber, Readable.from([Buffer.concat(chunks)]));
};

proto.deleteObject = function (bucket, key) {
  return exclusive(`${bucket}/${key}`, () => deleteObject.call(this, bucket, key));
};

new S3rver({ directory, address: '127.0.0.1', port: Number(port), silent: true, vhostBuckets: false })
  .run()
  .then(({ port: bound }) => process.stdout.write(`S3rver listening on 127.0.0.1:${bound}\n`))
  .catch((err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
