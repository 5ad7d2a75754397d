// Benchmark: bytes on the wire for a typical mobile visit, memgate against Dovecot on the
// same messages, with and without COMPRESS=DEFLATE (RFC 4978). The visit: connect, LOGIN,
// [COMPRESS DEFLATE], SELECT INBOX, the 50 newest messages' list data
// (FETCH n-49:n (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)), one whole body
// (UID FETCH <newest> BODY.PEEK[]), LOGOUT. Bytes only: no timings.
//
//   npm run build && node dist/bench/mobile-visit.js
// Environment:
//   BENCH_MESSAGES   messages in INBOX (default 500)
//
// memgate runs in a child process on a fresh embedded-PostgreSQL database; Dovecot 2.3
// from test/support/dovecot.ts with its imap_zlib plugin loaded (Dovecot's COMPRESS).
import { startDovecot, dovecotAvailable, type DovecotInstance } from '../test/support/dovecot';
import { RawClient } from '../test/support/raw-client';
import { makeMessage } from './lib/messages';
import { forkMemgate, machineInfo, type ForkedMemgate } from './lib/harness';

const N = Number(process.env.BENCH_MESSAGES ?? 500);
const USER = 'bench';
const PASSWORD = 'bench-pass';

interface Visit {
  /** Bytes the server sent / the client sent, as they crossed the socket. */
  wireIn: number;
  wireOut: number;
  /** What those bytes carried once inflated (equal to wire bytes without COMPRESS). */
  plainIn: number;
  bodyBytes: number;
}

async function load(port: number, messages: Buffer[]): Promise<void> {
  const c = await RawClient.connect(port, { keepRecent: true });
  await c.command('l', `LOGIN ${USER} ${PASSWORD}`);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const r = await c.command(`a${i}`, Buffer.concat([Buffer.from(`APPEND INBOX {${m.length}+}\r\n`), m]));
    if (!/^a\d+ OK/m.test(r)) throw new Error(`APPEND failed: ${r.slice(0, 200)}`);
  }
  await c.command('o', 'LOGOUT');
  c.close();
}

async function visit(port: number, compress: boolean): Promise<Visit> {
  let plainIn = 0;
  const c = await RawClient.connect(port, { keepRecent: true });
  // The greeting was consumed by connect(); its bytes are in wireBytesIn.
  plainIn += c.wireBytesIn;
  const step = async (tag: string, command: string): Promise<string> => {
    const r = await c.command(tag, command);
    if (!new RegExp(`^${tag} OK`, 'm').test(r)) throw new Error(`${command}: ${r.slice(-200)}`);
    plainIn += r.length;
    return r;
  };
  await step('l', `LOGIN ${USER} ${PASSWORD}`);
  if (compress) {
    const r = await c.compress('z');
    if (!/^z OK/m.test(r)) throw new Error(`COMPRESS refused: ${r}`);
    plainIn += r.length;
  }
  const select = await step('s', 'SELECT INBOX');
  const exists = Number(/\* (\d+) EXISTS/.exec(select)?.[1]);
  await step('f', `FETCH ${Math.max(1, exists - 49)}:${exists} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`);
  const body = await step('b', `FETCH ${exists} BODY.PEEK[]`);
  const bodyBytes = Number(/BODY\[\] \{(\d+)\}/.exec(body)?.[1]);
  c.write('o LOGOUT\r\n');
  const bye = await c.untilTagged('o');
  plainIn += bye.length;
  await c.waitFor(() => c.closed, 5000).catch(() => undefined);
  const result = { wireIn: c.wireBytesIn, wireOut: c.wireBytesOut, plainIn, bodyBytes };
  c.close();
  return result;
}

async function main(): Promise<void> {
  if (!dovecotAvailable()) throw new Error('Dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)');
  const messages = Array.from({ length: N }, (_, i) => makeMessage(i));
  let memgate: ForkedMemgate | null = null;
  let dovecot: DovecotInstance | null = null;
  try {
    memgate = await forkMemgate([[USER, PASSWORD]]);
    dovecot = await startDovecot({
      users: { [USER]: PASSWORD },
      extraConfig: 'protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n',
    });
    await load(memgate.port, messages);
    await load(dovecot.imapPort, messages);
    const rows: Array<[string, boolean, Visit]> = [];
    for (const [name, port] of [
      ['memgate', memgate.port],
      ['Dovecot 2.3', dovecot.imapPort],
    ] as const) {
      // A first visit warms caches; the figures are from the second (bytes do not vary).
      await visit(port, false);
      rows.push([name, false, await visit(port, false)]);
      rows.push([name, true, await visit(port, true)]);
    }
    console.log(machineInfo());
    console.log(`\n${N} messages; visit = LOGIN, SELECT, 50 newest ENVELOPEs, one BODY[] (${rows[0][2].bodyBytes} bytes), LOGOUT\n`);
    console.log('| server | COMPRESS | bytes from server (wire) | carried (inflated) | bytes to server (wire) | ratio to uncompressed |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const [name, compress, v] of rows) {
      const plain = rows.find(([n, c]) => n === name && !c)![2];
      console.log(
        `| ${name} | ${compress ? 'DEFLATE' : 'off'} | ${v.wireIn.toLocaleString('en')} | ${v.plainIn.toLocaleString('en')} | ${v.wireOut.toLocaleString('en')} | ${(v.wireIn / plain.wireIn).toFixed(3)} |`,
      );
    }
  } finally {
    await memgate?.stop();
    await dovecot?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
