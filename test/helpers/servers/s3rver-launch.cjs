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
 * this one process. Nothing else about the server is changed.
 *
 * Usage: node --openssl-legacy-provider s3rver-launch.cjs DIR PORT
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
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

const proto = FilesystemStore.prototype;
// Completing a multipart upload goes through putObject, so it takes the lock too.
const { getObject, deleteObject } = proto;
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
          const body = object.content;
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
