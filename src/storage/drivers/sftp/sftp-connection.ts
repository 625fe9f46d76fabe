/**
 * One SSH connection with one SFTP channel, opened on first use and again on
 * the next call after it dropped. The host key is checked against known_hosts
 * before any credential is sent; an unknown host is refused unless
 * `acceptNewHostKey` (then recorded), a changed key always.
 *
 * @module
 */

import ssh2 from 'ssh2';
import type { ConnectConfig, SFTPWrapper } from 'ssh2';
import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../../../errors/index.js';
import type { RemoteSettings } from '../../contract.js';
import { SFTP_PASSWORD_ENV, authPlan, type AuthPlan } from './sftp-auth.js';
import { isConnectionFailure } from './sftp-errors.js';
import { resolveSftpLogin } from './sftp-login.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  keyTypeOf,
  knownHostName,
  preferredHostKeyAlgorithms,
  readKnownHosts,
} from './sftp-known-hosts.js';
import type { SftpTarget } from './sftp-url.js';

/** ssh2's host key algorithms in its default order (ed25519 only where Node supports it). */
const HOST_KEY_ALGORITHMS: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

export interface ConnectionOptions {
  target: SftpTarget;
  remote: RemoteSettings;
  env: NodeJS.ProcessEnv;
  /** Handshake and authentication must finish within this (default 20 s). */
  readyTimeoutMs?: number;
  /** SSH keepalive interval (default 10 s); three unanswered ones drop the connection. */
  keepaliveIntervalMs?: number;
}

export interface Session {
  sftp: SFTPWrapper;
  /** False once the connection closed or failed. */
  alive: boolean;
  /**
   * Rejects (retryable) when the connection is lost. Requests sent on a dead
   * channel never get an answer from ssh2, so every operation races this.
   */
  lost: Promise<never>;
  end(): void;
}

export class SftpConnection {
  private current: Promise<Session> | undefined;
  private closed = false;

  constructor(private readonly options: ConnectionOptions) {}

  /** The live session, connecting (again) when there is none. */
  session(): Promise<Session> {
    if (this.closed)
      return Promise.reject(new LifeboatError(ErrorCode.Storage, `storage ${this.options.target.location} is closed`));
    const current = this.current;
    if (current) {
      return current.then(
        (s) => (s.alive ? s : this.reconnect(current)),
        () => this.reconnect(current),
      );
    }
    return this.reconnect(undefined);
  }

  /** Starts a new connection unless another caller already replaced `stale`. */
  private reconnect(stale: Promise<Session> | undefined): Promise<Session> {
    if (this.current === stale) {
      this.current = this.connect();
      // A failed attempt is kept (so concurrent callers share it) until the next call replaces it.
      this.current.catch(() => undefined);
    }
    return this.current!;
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    const s = await current?.catch(() => undefined);
    s?.end();
  }

  private async connect(): Promise<Session> {
    const { remote, env } = this.options;
    // Host alias, user, port, keys and known_hosts as ssh would choose them (~/.ssh/config).
    const { target, identities, knownHostsFile } = await resolveSftpLogin(this.options.target, remote, env);
    const entries = await readKnownHosts(knownHostsFile).catch((err: unknown) => {
      throw new LifeboatError(
        ErrorCode.Config,
        `cannot read known_hosts ${knownHostsFile}: ${(err as Error).message}`,
        { cause: err },
      );
    });
    const auth = await authPlan(target.user, remote, env, identities);
    let refusal: LifeboatError | undefined;
    const where = `${target.host}:${target.port}`;

    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const verdict = checkHostKey(entries, target.host, target.port, key);
      const fp = fingerprint(key);
      switch (verdict.kind) {
        case 'known':
          return verify(true);
        case 'revoked':
          refusal = new LifeboatError(
            ErrorCode.Storage,
            `the host key of ${where} (${keyTypeOf(key)} ${fp}) is marked @revoked in ${knownHostsFile}:${verdict.line}; refusing to connect`,
            {
              hint: 'the server uses a key that was revoked; ask its administrator',
            },
          );
          return verify(false);
        case 'changed':
          refusal = new LifeboatError(
            ErrorCode.Storage,
            `WARNING: THE HOST KEY OF ${where} HAS CHANGED (now ${keyTypeOf(key)} ${fp}; ${knownHostsFile} line ${verdict.lines.join(', ')} records a ${verdict.knownTypes.join('/')} key). Someone could be intercepting the connection; refusing to connect`,
            {
              hint: `if the server was really reinstalled, verify the new fingerprint with its administrator, then remove the old entry (ssh-keygen -R '${knownHostName(target.host, target.port)}' -f ${knownHostsFile})`,
              context: { host: target.host, port: target.port, fingerprint: fp },
            },
          );
          return verify(false);
        case 'unknown':
          if (!remote.acceptNewHostKey) {
            refusal = new LifeboatError(
              ErrorCode.Storage,
              `the host key of ${where} (${keyTypeOf(key)} ${fp}) is not in ${knownHostsFile}; refusing to connect to an unknown host`,
              {
                hint: `check the fingerprint with the server's administrator, then add it (ssh-keyscan -p ${target.port} ${target.host} >> ${knownHostsFile}) or set accept_new_host_key: true for the repository`,
                context: { host: target.host, port: target.port, fingerprint: fp },
              },
            );
            return verify(false);
          }
          appendKnownHost(knownHostsFile, target.host, target.port, key).then(
            () => verify(true),
            (err: unknown) => {
              refusal = new LifeboatError(
                ErrorCode.Storage,
                `cannot record the host key of ${where} in ${knownHostsFile}: ${(err as Error).message}`,
                { cause: err },
              );
              verify(false);
            },
          );
      }
    };

    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      authHandler: auth.methods,
      hostVerifier,
      algorithms: {
        serverHostKey: preferredHostKeyAlgorithms(entries, target.host, target.port, HOST_KEY_ALGORITHMS) as never,
      },
      readyTimeout: this.options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: 3,
    };

    const client = new ssh2.Client();
    let markLost: (err: LifeboatError) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => (markLost = reject));
    lost.catch(() => undefined); // observed by operations only while they run
    const session: Session = { sftp: undefined as unknown as SFTPWrapper, alive: false, lost, end: () => client.end() };
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', resolve);
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed during the handshake')));
        client.connect(config);
        // Without this, Nagle's algorithm holds back the small READ requests and window adjusts
        // while earlier ones are unacknowledged; against the server's delayed ACKs that stalls
        // pipelined reads for tens of milliseconds at a time (range reads ran at under half the speed).
        client.setNoDelay(true);
      });
      session.sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))),
      );
    } catch (err) {
      client.end();
      throw refusal ?? connectError(target, auth, err);
    }
    session.alive = true;
    const dead = (err?: unknown) => {
      if (!session.alive) return;
      session.alive = false;
      const why = err instanceof Error ? `: ${err.message}` : '';
      markLost(
        new LifeboatError(
          ErrorCode.Storage,
          `the connection to the SFTP server ${target.host}:${target.port} was lost${why}`,
          { retryable: true, cause: err },
        ),
      );
      client.end();
    };
    client.removeAllListeners('error');
    client.removeAllListeners('close');
    // After the handshake, errors surface through the pending requests; the listener only keeps them from being unhandled.
    client.on('error', dead);
    client.on('close', () => dead());
    session.sftp.on('close', () => dead());
    return session;
  }
}

function connectError(target: SftpTarget, auth: AuthPlan, err: unknown): LifeboatError {
  if (isLifeboatError(err)) return err;
  const where = `${target.user}@${target.host}:${target.port}`;
  const level = err && typeof err === 'object' && 'level' in err ? (err as { level: unknown }).level : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (level === 'client-authentication') {
    return new LifeboatError(
      ErrorCode.Storage,
      `the SFTP server refused the login as ${where} (tried ${auth.described.join(', ')}${auth.skipped.length ? `; skipped ${auth.skipped.join('; ')}` : ''})`,
      {
        hint: `check identity_file (or the keys in ~/.ssh and ~/.ssh/config), the ssh-agent, sftp_password_file or $${SFTP_PASSWORD_ENV}, and that the server allows that method for ${target.user}`,
        context: { host: target.host, port: target.port, user: target.user },
      },
    );
  }
  const errno = systemErrorCode(err);
  if (errno === 'ENOTFOUND') {
    return new LifeboatError(ErrorCode.Storage, `cannot resolve the SFTP host ${target.host}`, {
      hint: 'check the host name in the repository URL',
      cause: err,
    });
  }
  const retryable = isConnectionFailure(err);
  return new LifeboatError(ErrorCode.Storage, `cannot connect to the SFTP server ${where}: ${message}`, {
    retryable,
    hint: retryable ? 'is the server running and reachable on that port?' : undefined,
    context: { host: target.host, port: target.port, ...(errno ? { errno } : {}) },
    cause: err,
  });
}
