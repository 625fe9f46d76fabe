import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { assertConnected, isConnected, mountPointOf, readMounts } from './mount-check.js';

const mounts = (...points: string[]) => ({ mountPoints: ['/', ...points] });

describe('removable media mount check', () => {
  it('finds the mount point that holds a path', () => {
    const m = mounts('/mnt/usb', '/mnt/usb2', '/var');
    expect(mountPointOf('/mnt/usb/lifeboat', m)).toBe('/mnt/usb');
    expect(mountPointOf('/mnt/usb2', m)).toBe('/mnt/usb2');
    expect(mountPointOf('/mnt/usbx/lifeboat', m)).toBe('/');
  });

  it('says an empty mount point on the root file system is not connected', () => {
    expect(isConnected('/mnt/usb/lifeboat', mounts())).toBe(false);
    expect(isConnected('/mnt/usb/lifeboat', mounts('/mnt/usb'))).toBe(true);
  });

  it('with a configured mount point, only that mount counts', () => {
    expect(isConnected('/srv/usb/lifeboat', mounts('/srv'), '/srv/usb')).toBe(false);
    expect(isConnected('/srv/usb/lifeboat', mounts('/srv', '/srv/usb'), '/srv/usb')).toBe(true);
  });

  it('refuses with not_connected and a hint; remote repositories are never checked', () => {
    let caught: unknown;
    try {
      assertConnected('usb', '/mnt/usb/lifeboat', undefined, mounts());
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: ErrorCode.NotConnected });
    expect(() => assertConnected('off', 's3://bucket/x', undefined, mounts())).not.toThrow();
  });

  it('reads mountinfo, including escaped spaces', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-mounts-'));
    const file = path.join(dir, 'mountinfo');
    await writeFile(
      file,
      '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 8:17 / /media/backup\\040drive rw - vfat /dev/sdb1 rw\n',
    );
    expect(readMounts(file).mountPoints).toEqual(['/', '/media/backup drive']);
    await rm(dir, { recursive: true, force: true });
  });
});
