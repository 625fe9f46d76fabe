import { ErrorCode, LifeboatError } from '../errors/index.js';

/** Ask for a secret on the terminal without echoing it. Ctrl-C rejects as `interrupted` (exit 130). */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    if (!stdin.isTTY) {
      reject(new Error('no terminal to ask for a password'));
      return;
    }
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let answer = '';
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === '\r' || c === '\n' || c === '\u0004') {
          cleanup();
          process.stderr.write('\n');
          resolve(answer);
          return;
        }
        if (c === '\u0003') {
          cleanup();
          process.stderr.write('\n');
          reject(new LifeboatError(ErrorCode.Interrupted, 'interrupted at the password prompt'));
          return;
        }
        if (c === '\u007f' || c === '\b') answer = answer.slice(0, -1);
        else answer += c;
      }
    };
    const cleanup = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}
