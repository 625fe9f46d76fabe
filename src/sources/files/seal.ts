import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

/**
 * Sealing with age (https://age-encryption.org/v1): content is encrypted to
 * offline recipients before it enters the repository, so the backing-up host
 * cannot read it back, and the sealed bytes stay readable with the standard
 * `age` CLI (`age -d -i key.txt`).
 */
export async function* sealFile(file: string, recipients: readonly string[]): AsyncGenerator<Uint8Array> {
  const encrypter = new Encrypter();
  for (const r of recipients) encrypter.addRecipient(r);
  const plain = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
  const sealed = await encrypter.encrypt(plain);
  yield* Readable.fromWeb(sealed as unknown as WebReadableStream<Uint8Array>);
}

/** Identities (`AGE-SECRET-KEY-1…` lines) from an identity file as `age-keygen` writes it. */
export async function readIdentities(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new LifeboatError(ErrorCode.Usage, `cannot read the identity file ${file}: ${err.code ?? err.message}`);
  });
  const identities = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (identities.length === 0)
    throw new LifeboatError(ErrorCode.Usage, `${file} holds no age identity (AGE-SECRET-KEY-1… line)`, {
      hint: 'give the file age-keygen wrote',
    });
  return identities;
}

export async function* unsealStream(
  sealed: AsyncIterable<Uint8Array>,
  identities: readonly string[],
  label: string,
): AsyncGenerator<Uint8Array> {
  const decrypter = new Decrypter();
  for (const id of identities) decrypter.addIdentity(id);
  let plain;
  try {
    plain = await decrypter.decrypt(Readable.toWeb(Readable.from(sealed)) as unknown as ReadableStream<Uint8Array>);
  } catch (err) {
    throw new LifeboatError(
      ErrorCode.WrongPassword,
      `${label}: the identity does not open this sealed file (${(err as Error).message})`,
      { hint: 'use the identity whose recipient is listed in seal_to' },
    );
  }
  yield* Readable.fromWeb(plain as unknown as WebReadableStream<Uint8Array>);
}
