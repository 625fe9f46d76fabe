/**
 * S3 Object Lock (docs/adr/0047-s3-object-lock.md): with `object_lock` set,
 * every object the repository keeps as backup data is written with a
 * retention (mode and retain-until date = now + days), so nobody holding the
 * backup host's credentials can destroy it before that date. Objects that
 * coordinate writers and are removed in normal operation carry none: lock
 * objects (removed on release and refresh), prune records (removed by the
 * sweep), index files (derived from the packs, rebuilt by `repair index`,
 * replaced by every consolidating sweep — a locked one would keep every pack
 * it names undeletable for another full retention) and stream leases.
 *
 * @module
 */

import { GetObjectLockConfigurationCommand, type ObjectLockMode, type S3Client } from '@aws-sdk/client-s3';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { ObjectLockSettings } from '../../contract.js';
import { s3ErrorName } from './s3-errors.js';

/** A retention to send with one upload. */
export interface ObjectRetention {
  mode: ObjectLockMode;
  until: Date;
}

const UNLOCKED = [/^locks\//, /^prune\//, /^index\//, /^wal\/.+\/lease$/];

/** Whether an object of this name is written with a retention (see the module comment). */
export function carriesObjectLock(name: string): boolean {
  return !UNLOCKED.some((re) => re.test(name));
}

/** The retention for an object written now, or undefined when it carries none. */
export function retentionFor(
  settings: ObjectLockSettings | undefined,
  name: string,
  now: number = Date.now(),
): ObjectRetention | undefined {
  if (!settings || !carriesObjectLock(name)) return undefined;
  return {
    mode: settings.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE',
    // Whole seconds: S3 answers the date back without milliseconds.
    until: new Date(Math.ceil((now + settings.days * 86_400_000) / 1000) * 1000),
  };
}

/**
 * Refuses a bucket without Object Lock enabled: the retention headers would be
 * rejected on every write (AWS) or silently ignored (some S3-compatible
 * servers), and the repository would look protected while it is not.
 */
export async function assertObjectLockEnabled(client: S3Client, bucket: string, location: string): Promise<void> {
  let enabled: string | undefined;
  let reason: string;
  try {
    const res = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    enabled = res.ObjectLockConfiguration?.ObjectLockEnabled;
    reason = enabled ? `its Object Lock is ${enabled}` : 'it has no Object Lock configuration';
  } catch (err) {
    const name = s3ErrorName(err) ?? 'Error';
    reason =
      name === 'ObjectLockConfigurationNotFoundError'
        ? 'Object Lock is not enabled on it'
        : `its Object Lock configuration could not be read (${name}: ${(err as Error).message})`;
  }
  if (enabled === 'Enabled') return;
  throw new LifeboatError(
    ErrorCode.Refused,
    `refusing to use ${location} with object_lock: bucket ${bucket} cannot lock objects, ${reason}`,
    {
      hint: 'Object Lock can only be enabled on a bucket with versioning (on AWS: at creation, or later with versioning on); let `lifeboat init` create the bucket, enable it, or remove object_lock from the repository. The credentials need s3:GetBucketObjectLockConfiguration and s3:PutObjectRetention',
      context: { bucket, location },
    },
  );
}
