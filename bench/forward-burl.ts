// Benchmark (issue #7): forwarding without download, and the submission outbox.
//
//   npm run bench:submit           (builds first)
//   node dist/bench/forward-burl.js
// Environment:
//   BENCH_ATTACHMENT_MB   size of the attachment to forward (default 10)
//   BENCH_CLIENTS         concurrent submission clients (default 20)
//   BENCH_SUBMISSIONS     messages submitted in all (default 2000)
//
// 1. Forward of a message with a large attachment, with an edited text, two ways:
//    a. download and resubmit: IMAP FETCH BODY[] of the original, then SMTP DATA of the
//       forward (what a client without LEMONADE does);
//    b. CATENATE + GENURLAUTH + BURL: IMAP APPEND CATENATE of the new text and the URL of
//       the attachment, GENURLAUTH for submit+, then SMTP BURL: memgate assembles it.
//    Both counted from the client's side on the wire (IMAP and SMTP, after login), and
//    checked at the relay: the same attachment arrives either way.
// 2. Submissions per second: BENCH_CLIENTS clients, each on its own authenticated
//    connection, send their share of BENCH_SUBMISSIONS small messages one after another;
//    each 250 means committed to the outbox.
// 3. Outbox-to-relay delivery: the outbox worker runs meanwhile; the relay (an
//    smtp-server sink on loopback, answering at once) timestamps each arrival.
//
// memgate runs in a child process (bench/lib/server-child.ts) on a fresh database of the
// embedded PostgreSQL (fsync off, as in tests); the relay sink and the clients run here.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type tls from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { ImapConn } from './lib/imap-conn';
import { forkMemgate, machineInfo, percentile, type ForkedMemgate } from './lib/harness';
import { SmtpConn } from './lib/smtp-conn';

const ATTACHMENT_MB = Number(process.env.BENCH_ATTACHMENT_MB ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
const SUBMISSIONS = Number(process.env.BENCH_SUBMISSIONS ?? 2000);
/** memgate settings (JSON, configSchema keys), e.g. {"outboxConcurrency": 16}. */
const SETTINGS = JSON.parse(process.env.BENCH_SETTINGS ?? '{}') as Record<string, unknown>;
/** More smtpRelay settings of the sending account (JSON), e.g. {"maxConnections": 8}. */
const RELAY = JSON.parse(process.env.BENCH_RELAY ?? '{}') as Record<string, unknown>;
const USER = 'bench';
const PASSWORD = 'bench-pass';
const FROM = 'bench@example.org';

interface Arrival {
  at: number;
  raw: Buffer;
}

/** smtp-server waits 100 ms before its greeting to catch early talkers; this one does not. */
class PromptConnection extends SMTPConnection {
  override init(): void {
    this._setListeners(() => this.connectionReady());
  }
}

class PromptSmtpServer extends SMTPServer {
  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new PromptConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }
}

async function startRelaySink(prompt: boolean): Promise<{ port: number; arrivals: Arrival[]; waitFor(n: number, timeoutMs: number): Promise<void>; close(): Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = new (prompt ? PromptSmtpServer : SMTPServer)({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // A relay on loopback: no reverse DNS of the client (smtp-server does one by default).
    disableReverseLookup: true,
    size: 0,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        arrivals.push({ at: performance.now(), raw: Buffer.concat(chunks) });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as net.AddressInfo).port,
    arrivals,
    async waitFor(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (arrivals.length < n) {
        if (Date.now() > deadline) throw new Error(`relay got ${arrivals.length} of ${n} messages`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The original: a short text and a base64 attachment of ATTACHMENT_MB MiB. */
function original(): { raw: Buffer; partMime: string; partBody: string } {
  const bytes = Buffer.alloc(ATTACHMENT_MB * 1024 * 1024);
  let x = 0x12345678;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff; // incompressible, like a photo or a PDF
  }
  const partMime = 'Content-Type: application/pdf; name="report.pdf"\r\nContent-Disposition: attachment; filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const partBody = (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  const raw = Buffer.from(
    'From: <boss@remote.test>\r\nTo: <bench@example.org>\r\nSubject: the report\r\nMessage-ID: <report@remote.test>\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="orig"\r\n\r\n' +
      '--orig\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n' +
      `--orig\r\n${partMime}${partBody}\r\n--orig--\r\n`,
    'latin1',
  );
  return { raw, partMime, partBody };
}

const FWD_HEAD =
  'From: <bench@example.org>\r\nTo: <gus@remote.test>\r\nSubject: Fwd: the report\r\nMIME-Version: 1.0\r\n' +
  'Content-Type: multipart/mixed; boundary="fwd"\r\n\r\n--fwd\r\nContent-Type: text/plain\r\n\r\n' +
  'Gus, see the report below; page 3 is the one I meant.\r\n--fwd\r\n';
const FWD_TAIL = '\r\n--fwd--\r\n';

interface ForwardRun {
  imapOut: number;
  imapIn: number;
  smtpOut: number;
  smtpIn: number;
  ms: number;
}

/** What `conn` captured since `capture` was set. */
function captured(conn: ImapConn): Buffer {
  return Buffer.concat(conn.capture ?? []);
}

async function forwardByDownload(imap: ImapConn, smtp: SmtpConn): Promise<ForwardRun> {
  const i0 = { out: imap.bytesOut, in: imap.bytesIn };
  const s0 = { out: smtp.bytesOut, in: smtp.bytesIn };
  const start = performance.now();
  imap.capture = [];
  await imap.ok('UID FETCH 1 BODY.PEEK[]');
  const answer = captured(imap);
  imap.capture = null;
  const head = answer.subarray(0, 200).toString('latin1');
  const lit = /BODY\[\] \{(\d+)\}\r\n/.exec(head);
  assert.ok(lit, 'FETCH BODY[] answer');
  const at = lit.index + lit[0].length;
  const body = answer.subarray(at, at + Number(lit[1]));
  // The client finds the attachment part in what it downloaded and re-sends it.
  const text = body.toString('latin1');
  const partStart = text.indexOf('--orig\r\nContent-Type: application/pdf') + '--orig\r\n'.length;
  const partEnd = text.lastIndexOf('\r\n--orig--');
  const forward = Buffer.concat([Buffer.from(FWD_HEAD, 'latin1'), body.subarray(partStart, partEnd), Buffer.from(FWD_TAIL, 'latin1')]);
  await smtp.sendMessage(FROM, ['gus@remote.test'], forward);
  return {
    imapOut: imap.bytesOut - i0.out,
    imapIn: imap.bytesIn - i0.in,
    smtpOut: smtp.bytesOut - s0.out,
    smtpIn: smtp.bytesIn - s0.in,
    ms: performance.now() - start,
  };
}

async function forwardByBurl(inboxValidity: number, imap: ImapConn, smtp: SmtpConn): Promise<ForwardRun> {
  const i0 = { out: imap.bytesOut, in: imap.bytesIn };
  const s0 = { out: smtp.bytesOut, in: smtp.bytesIn };
  const start = performance.now();
  const url = (s: string): string => `/INBOX;UIDVALIDITY=${inboxValidity}/;UID=1/;SECTION=${s}`;
  const append = await imap.ok(
    `APPEND Drafts (\\Draft) CATENATE (TEXT {${FWD_HEAD.length}+}\r\n${FWD_HEAD} URL "${url('2.MIME')}" URL "${url('2')}" TEXT {${FWD_TAIL.length}+}\r\n${FWD_TAIL})`,
  );
  const au = /\[APPENDUID (\d+) (\d+)\]/.exec(append.line);
  assert.ok(au, append.line);
  imap.capture = [];
  await imap.ok(`GENURLAUTH "imap://${USER}@localhost/Drafts;UIDVALIDITY=${au[1]}/;UID=${au[2]};URLAUTH=submit+${USER}" INTERNAL`);
  const gen = /\* GENURLAUTH "([^"]+)"/.exec(captured(imap).toString('latin1'));
  imap.capture = null;
  assert.ok(gen, 'GENURLAUTH answer');
  await smtp.command(`MAIL FROM:<${FROM}>`);
  await smtp.command('RCPT TO:<gus@remote.test>');
  await smtp.command(`BURL ${gen[1]} LAST`, '250');
  return {
    imapOut: imap.bytesOut - i0.out,
    imapIn: imap.bytesIn - i0.in,
    smtpOut: smtp.bytesOut - s0.out,
    smtpIn: smtp.bytesIn - s0.in,
    ms: performance.now() - start,
  };
}

function small(i: number): Buffer {
  const body = `Message ${i} of the submission benchmark.\r\n`.repeat(40);
  return Buffer.from(
    `From: <${FROM}>\r\nTo: <r${i % 50}@remote.test>\r\nSubject: submission ${i}\r\nMessage-ID: <s${i}@bench.test>\r\n` +
      `Date: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
    'latin1',
  );
}

type Sink = Awaited<ReturnType<typeof startRelaySink>>;

async function submissions(m: ForkedMemgate, sink: Sink, relay: string): Promise<void> {
  const base = sink.arrivals.length;
  const conns = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const { conn } = await SmtpConn.connect(m.submissionPort);
      await conn.login(USER, PASSWORD);
      return conn;
    }),
  );
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = (await m.memory(false)).cpu;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (conn) => {
      while (next < SUBMISSIONS) {
        const i = next++;
        const s = performance.now();
        await conn.sendMessage(FROM, [`r${i % 50}@remote.test`], small(i));
        latencies.push(performance.now() - s);
      }
    }),
  );
  const accepted = performance.now() - t0;
  const cpu1 = (await m.memory(false)).cpu;
  await sink.waitFor(base + SUBMISSIONS, 600_000);
  const drained = performance.now() - t0;
  const cpu2 = (await m.memory(false)).cpu;
  for (const c of conns) await c.quit();
  const arrivals = sink.arrivals.slice(base).map((a) => a.at - t0);
  const firstAt = Math.min(...arrivals);
  const lastAt = Math.max(...arrivals);
  const atAccept = arrivals.filter((a) => a <= accepted).length;
  const cpuS = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): string => `${((b.user + b.system - a.user - a.system) / 1e6).toFixed(1)} s`;
  console.log(`\n## ${SUBMISSIONS} submissions (${kb(small(0).length)} each) from ${CLIENTS} concurrent clients; ${relay}`);
  console.log(`accepted (250 after the outbox commit): ${accepted.toFixed(0)} ms = ${((SUBMISSIONS / accepted) * 1000).toFixed(0)} msg/s; per message p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; memgate CPU ${cpuS(cpu0, cpu1)}`);
  console.log(`delivered to the relay: first at ${firstAt.toFixed(0)} ms, last at ${lastAt.toFixed(0)} ms; ${atAccept} delivered by the time the last 250 was sent`);
  console.log(`delivery rate: ${((SUBMISSIONS / (lastAt - firstAt)) * 1000).toFixed(0)} msg/s (first to last arrival); queue drained ${(drained - accepted).toFixed(0)} ms after the last 250; memgate CPU meanwhile ${cpuS(cpu1, cpu2)}`);
}

const kb = (n: number): string => (n < 10_000 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

async function main(): Promise<void> {
  console.log(machineInfo());
  const sink = await startRelaySink(false);
  const m = await forkMemgate([[USER, PASSWORD]], { settings: SETTINGS });
  console.log(`memgate settings ${JSON.stringify(SETTINGS)}, relay settings ${JSON.stringify(RELAY)} (defaults: outboxConcurrency 8, maxConnections 4, maxMessages 100)`);
  try {
    await m.setupSending(USER, [FROM], sink.port, RELAY);
    const orig = original();
    const imap = await ImapConn.connect(m.port);
    await imap.login(USER, PASSWORD);
    await imap.send('a', [Buffer.from(`a APPEND INBOX {${orig.raw.length}+}\r\n`, 'latin1'), orig.raw, Buffer.from('\r\n')]);
    imap.capture = [];
    await imap.ok('SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec(captured(imap).toString('latin1'));
    imap.capture = null;
    assert.ok(validity);
    const { conn: smtp } = await SmtpConn.connect(m.submissionPort);
    await smtp.login(USER, PASSWORD);

    // 1. Forward, each way (the second pair warm).
    const runs: Array<{ download: ForwardRun; burl: ForwardRun }> = [];
    const expectedPart = orig.partMime + orig.partBody;
    for (let round = 0; round < 2; round++) {
      const before = sink.arrivals.length;
      const download = await forwardByDownload(imap, smtp);
      const burl = await forwardByBurl(Number(validity[1]), imap, smtp);
      await sink.waitFor(before + 2, 120_000);
      for (const a of sink.arrivals.slice(before)) {
        assert.ok(a.raw.toString('latin1').includes(expectedPart), 'the relay got the attachment whole');
      }
      runs.push({ download, burl });
    }
    await smtp.quit();
    await imap.logout();
    const sent = (r: ForwardRun): number => r.imapOut + r.smtpOut;
    const recv = (r: ForwardRun): number => r.imapIn + r.smtpIn;
    console.log(`\n## forward of a message with a ${ATTACHMENT_MB} MiB attachment (original ${kb(orig.raw.length)})`);
    console.log('| way | client sent (IMAP + SMTP) | client received | time |');
    console.log('|---|---|---|---|');
    for (const [i, r] of runs.entries()) {
      const tag = i === 0 ? 'cold' : 'warm';
      console.log(`| download + DATA (${tag}) | ${kb(sent(r.download))} (${kb(r.download.imapOut)} + ${kb(r.download.smtpOut)}) | ${kb(recv(r.download))} | ${r.download.ms.toFixed(0)} ms |`);
      console.log(`| CATENATE + GENURLAUTH + BURL (${tag}) | ${kb(sent(r.burl))} (${kb(r.burl.imapOut)} + ${kb(r.burl.smtpOut)}) | ${kb(recv(r.burl))} | ${r.burl.ms.toFixed(0)} ms |`);
    }
    const last = runs[runs.length - 1];
    console.log(`sent ratio: ${(sent(last.download) / sent(last.burl)).toFixed(0)}x fewer bytes up; total on the wire ratio: ${((sent(last.download) + recv(last.download)) / (sent(last.burl) + recv(last.burl))).toFixed(0)}x`);

    // 2 and 3. Submissions into the outbox, and delivery to the relay meanwhile: first to
    // a stock smtp-server (100 ms pause before its greeting), then to one without the pause.
    await submissions(m, sink, 'smtp-server relay, 100 ms greeting pause');
    const prompt = await startRelaySink(true);
    try {
      await m.setupSending(USER, [FROM], prompt.port, RELAY);
      await submissions(m, prompt, 'smtp-server relay without the greeting pause');
    } finally {
      await prompt.close();
    }
  } finally {
    await m.stop();
    await sink.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
