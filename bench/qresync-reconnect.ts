// Benchmark: a phone reconnecting to a 10,000-message mailbox after 20 changes made
// elsewhere (flag changes, expunges, arrivals). QRESYNC (ENABLE QRESYNC + SELECT ...
// (QRESYNC (uidvalidity modseq))) against the full flag resync a client without it does
// (SELECT + UID FETCH 1:* (FLAGS)). Both pipelined after the greeting: one round trip.
//
//   npm run build && node dist/bench/qresync-reconnect.js
// Environment:
//   BENCH_MESSAGES   messages in the mailbox (default 10000)
//   BENCH_CHANGES    changes between the two visits (default 20: 12 flags, 4 expunges, 4 arrivals)
//
// Bytes are counted on the socket (uncompressed, no TLS). "deflate" is the same server bytes
// through zlib's raw deflate with a sync flush per answer, as COMPRESS=DEFLATE would send them:
// an estimate of the compressed size, not a measurement of a COMPRESS session.
import { deflateRawSync, constants } from 'node:zlib';
import { RawClient } from '../test/support/raw-client';
import { ImapConn } from './lib/imap-conn';
import { forkMemgate, machineInfo } from './lib/harness';

const N = Number(process.env.BENCH_MESSAGES ?? 10000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const USER = 'bench';
const PASSWORD = 'bench-pass';
const BATCH = 200;

interface Visit {
  name: string;
  roundTrips: number;
  bytesOut: number;
  bytesIn: number;
  deflated: number;
  summary: string;
}

const tiny = (n: number) => Buffer.from(`From: a${n}@example.org\r\nSubject: message ${n}\r\n\r\nbody ${n}\r\n`);

async function load(port: number): Promise<void> {
  const c = await ImapConn.connect(port);
  await c.login(USER, PASSWORD);
  for (let i = 0; i < N; i += BATCH) {
    const parts: Buffer[] = [Buffer.from('APPEND INBOX')];
    for (let k = i; k < Math.min(N, i + BATCH); k++) {
      // A lived-in mailbox: most messages read, some flagged or answered.
      const flags = k % 10 === 0 ? '' : k % 17 === 0 ? '\\Seen \\Flagged' : k % 11 === 0 ? '\\Seen \\Answered' : '\\Seen';
      const m = tiny(k);
      parts.push(Buffer.from(` (${flags}) {${m.length}+}\r\n`), m);
    }
    await c.ok(Buffer.concat(parts));
  }
  await c.logout();
}

/** The changes a second device makes while the phone is away. */
async function change(port: number): Promise<void> {
  const c = await ImapConn.connect(port);
  await c.login(USER, PASSWORD);
  await c.ok('SELECT INBOX');
  const flags = Math.round(CHANGES * 0.6);
  const expunges = Math.round(CHANGES * 0.2);
  const arrivals = CHANGES - flags - expunges;
  // $Forwarded is on no message yet, so each STORE is a real change.
  for (let i = 0; i < flags; i++) await c.ok(`UID STORE ${1 + ((i * 769) % N)} +FLAGS ($Forwarded)`);
  for (let i = 0; i < expunges; i++) {
    await c.ok(`UID STORE ${1 + ((i * 1237 + 50) % N)} +FLAGS.SILENT (\\Deleted)`);
    await c.ok('EXPUNGE');
  }
  for (let i = 0; i < arrivals; i++) {
    const m = tiny(N + i);
    await c.ok(Buffer.concat([Buffer.from(`APPEND INBOX {${m.length}+}\r\n`), m]));
  }
  await c.logout();
}

/** Connects, then sends `commands` in one write and waits for all answers: one round trip. */
async function visit(port: number, name: string, commands: string[]): Promise<Visit> {
  const c = await ImapConn.connect(port);
  const captured: Buffer[] = [];
  c.capture = captured;
  const inBefore = c.bytesIn;
  const tags = commands.map(() => c.tag());
  const out = Buffer.from(commands.map((cmd, i) => `${tags[i]} ${cmd}\r\n`).join(''), 'latin1');
  // Register every tag, then put all the bytes on the wire at once.
  const answers = commands.map((_, i) => c.send(tags[i], i === commands.length - 1 ? [out] : []));
  const results = await Promise.all(answers);
  for (const r of results) if (r.status !== 'OK') throw new Error(`${name}: ${r.line}`);
  const bytesIn = c.bytesIn - inBefore;
  const serverBytes = Buffer.concat(captured).subarray(-bytesIn);
  const deflated = deflateRawSync(serverBytes, { finishFlush: constants.Z_SYNC_FLUSH }).length;
  // The last command was pending from the first byte on, so it saw every untagged line.
  const summary = [...results[results.length - 1].untagged].map(([k, v]) => `${v} ${k}`).join(', ');
  await c.logout();
  return { name, roundTrips: 1, bytesOut: out.length, bytesIn, deflated, summary };
}

/**
 * The QRESYNC visit with COMPRESS=DEFLATE, measured on the wire: LOGIN and COMPRESS in one
 * write (the client may not compress before COMPRESS's OK), then ENABLE + SELECT (QRESYNC)
 * compressed in one write: two round trips after the greeting.
 */
async function compressedVisit(port: number, uidValidity: number, modseq: number): Promise<Visit> {
  const c = await RawClient.connect(port, { keepRecent: true });
  const inBefore = c.wireBytesIn;
  const outBefore = c.wireBytesOut;
  c.write(`l LOGIN ${USER} ${PASSWORD}\r\n`);
  const z = await c.compress('z');
  if (!/^l OK/m.test(z) || !/^z OK/m.test(z)) throw new Error(`LOGIN/COMPRESS failed: ${z}`);
  c.write(`e ENABLE QRESYNC\r\nq SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))\r\n`);
  const r = await c.untilTagged('q');
  if (!/^q OK/m.test(r)) throw new Error(`compressed QRESYNC SELECT failed: ${r.slice(-200)}`);
  const bytesIn = c.wireBytesIn - inBefore;
  const bytesOut = c.wireBytesOut - outBefore;
  const vanished = /^\* VANISHED \(EARLIER\) (\S+)/m.exec(r)?.[1] ?? '';
  const fetches = (r.match(/^\* \d+ FETCH/gm) ?? []).length;
  c.close();
  return { name: 'QRESYNC + COMPRESS (measured)', roundTrips: 2, bytesOut, bytesIn, deflated: bytesIn, summary: `VANISHED ${vanished}, ${fetches} FETCH` };
}

async function main(): Promise<void> {
  console.log(machineInfo());
  const server = await forkMemgate([[USER, PASSWORD]]);
  try {
    const t0 = Date.now();
    await load(server.port);
    console.log(`loaded ${N} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // First visit: the phone learns UIDVALIDITY and HIGHESTMODSEQ (and all flags).
    const first = await ImapConn.connect(server.port);
    await first.login(USER, PASSWORD);
    let uidValidity = 0;
    let modseq = 0;
    first.onLine((head) => {
      const uv = /\[UIDVALIDITY (\d+)\]/.exec(head);
      const hm = /\[HIGHESTMODSEQ (\d+)\]/.exec(head);
      if (uv) uidValidity = Number(uv[1]);
      if (hm) modseq = Number(hm[1]);
    });
    await first.ok('SELECT INBOX');
    await first.logout();
    await change(server.port);
    const login = `LOGIN ${USER} ${PASSWORD}`;
    const visits = [
      await visit(server.port, 'QRESYNC', [login, 'ENABLE QRESYNC', `SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`]),
      await visit(server.port, 'full flag resync', [login, 'SELECT INBOX', 'UID FETCH 1:* (FLAGS)']),
      await compressedVisit(server.port, uidValidity, modseq),
    ];
    console.log(`\n${N} messages, ${CHANGES} changes; bytes after the greeting, both directions counted separately\n`);
    console.log('| visit | round trips after greeting | client bytes | server bytes | server bytes, deflated (estimate) | untagged |');
    console.log('| --- | ---: | ---: | ---: | ---: | --- |');
    for (const v of visits) {
      console.log(`| ${v.name} | ${v.roundTrips} | ${v.bytesOut} | ${v.bytesIn.toLocaleString('en')} | ${v.deflated.toLocaleString('en')} | ${v.summary} |`);
    }
    const [q, full] = visits;
    console.log(`\nratio full/QRESYNC, server bytes: ${(full.bytesIn / q.bytesIn).toFixed(0)}x; total both ways: ${((full.bytesIn + full.bytesOut) / (q.bytesIn + q.bytesOut)).toFixed(0)}x`);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
