/**
 * Where and as whom an SFTP repository logs in, resolved as `ssh` would: the
 * URL's host may be a `Host` alias of ~/.ssh/config, whose HostName, User and
 * Port apply unless the URL names them; without `identity_file` in
 * lifeboat.yaml the config's IdentityFile entries are offered, or else the
 * default keys ~/.ssh/id_ed25519, id_ecdsa and id_rsa; without `known_hosts`
 * the config's UserKnownHostsFile, or else ~/.ssh/known_hosts.
 *
 * @module
 */

import path from 'node:path';
import type { RemoteSettings } from '../../contract.js';
import { expandSshPath, readSshSettings, sshHome } from './sftp-ssh-config.js';
import type { SftpTarget } from './sftp-url.js';

/** The keys ssh offers when its configuration names none, in its order. */
export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

export interface IdentityCandidate {
  file: string;
  /** Named by identity_file in lifeboat.yaml: it must be usable. Others are skipped (with a note) when missing or locked. */
  required: boolean;
}

export interface SftpLogin {
  /** The target with the host name, user and port actually used. */
  target: SftpTarget;
  identities: IdentityCandidate[];
  knownHostsFile: string;
}

export async function resolveSftpLogin(
  target: SftpTarget,
  remote: RemoteSettings,
  env: NodeJS.ProcessEnv,
): Promise<SftpLogin> {
  const home = sshHome(env);
  const cfg = await readSshSettings(target.host, env);
  const resolved: SftpTarget = {
    ...target,
    host: cfg.hostName ?? target.host,
    user: target.userFromUrl ? target.user : (cfg.user ?? target.user),
    port: target.portFromUrl ? target.port : (cfg.port ?? target.port),
  };
  const expand = (p: string) =>
    expandSshPath(p, { home, host: resolved.host, port: resolved.port, user: resolved.user, alias: target.host });
  let identities: IdentityCandidate[];
  if (remote.identityFile) identities = [{ file: remote.identityFile, required: true }];
  else if (cfg.identityFiles.length) identities = cfg.identityFiles.map((f) => ({ file: expand(f), required: false }));
  else identities = DEFAULT_IDENTITY_FILES.map((f) => ({ file: path.join(home, '.ssh', f), required: false }));
  const knownHostsFile =
    remote.knownHosts ??
    (cfg.userKnownHostsFiles?.[0] ? expand(cfg.userKnownHostsFiles[0]) : path.join(home, '.ssh', 'known_hosts'));
  return { target: resolved, identities, knownHostsFile };
}
