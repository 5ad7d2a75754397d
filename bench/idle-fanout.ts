// Benchmark: many concurrent IDLE connections on one mailbox, then one APPEND from another
// connection; how long until each IDLE connection sees `* n EXISTS`, and what each idle
// connection costs the server in memory.
//
//   npm run bench:idle             (builds first, raises the fd limit)
//   bash -c 'ulimit -n 20000; node dist/bench/idle-fanout.js'
// Environment:
//   BENCH_IDLE_CONNECTIONS  IDLE connections (default 5000)
//   BENCH_IDLE_ROUNDS       APPEND rounds (default 5)
//   BENCH_IDLE_SETUP        connections being set up at once (default 16)
//   BENCH_IDLE_PREFILL      messages in the mailbox before the connections SELECT it (default 20)
//   BENCH_IDLE_ROUND_TIMEOUT_MS  give up waiting for a round's EXISTS after this (default 60000)
//   BENCH_SERVER_NODE_ARGS  node flags for the memgate process (e.g. --cpu-prof)
//
// memgate runs in a child process (bench/lib/server-child.ts), so its memory figures are
// the server's alone; the clients live in this process. Latency is measured here, on one
// clock: from just before the APPEND is written to the arrival of the chunk holding EXISTS.
import { performance } from 'node:perf_hooks';
import { ImapConn } from './lib/imap-conn';
import { makeMessage } from './lib/messages';
import { forkMemgate, machineInfo, mb, ms, percentile, pool, type ForkedMemgate } from './lib/harness';
import type { MemoryReport } from './lib/server-child';

const C = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 5000);
const ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 5);
const SETUP = Number(process.env.BENCH_IDLE_SETUP ?? 16);
const PREFILL = Number(process.env.BENCH_IDLE_PREFILL ?? 20);
const ROUND_TIMEOUT_MS = Number(process.env.BENCH_IDLE_ROUND_TIMEOUT_MS ?? 60_000);
/** The whole setup phase must finish within this, or the run is reported as a hang. */
const SETUP_TIMEOUT_MS = 15 * 60_000;
const USER = 'idler';
const PASSWORD = 'idle-pass';

interface Round {
  appendMs: number;
  latencies: number[];
  missing: number;
  serverCpuMs: number;
  wallMs: number;
}

class Idler {
  conn!: ImapConn;
  /** Set by the round in progress: called with the arrival time of an EXISTS line. */
  onExists: ((at: number) => void) | null = null;

  async open(port: number): Promise<void> {
    this.conn = await ImapConn.connect(port);
    await this.conn.login(USER, PASSWORD);
    await this.conn.ok('SELECT INBOX');
    this.conn.onLine((head, at) => {
      if (/^\* \d+ EXISTS/.test(head)) this.onExists?.(at);
    });
    const idle = this.conn.idle();
    idle.done.catch(() => undefined);
    await idle.ready;
  }
}

function memLine(label: string, m: MemoryReport): string {
  const u = m.usage;
  return `${label}: sessions ${m.sessions}, rss ${mb(u.rss)}, heapUsed ${mb(u.heapUsed)}, heapTotal ${mb(u.heapTotal)}, external ${mb(u.external)}, arrayBuffers ${mb(u.arrayBuffers)}`;
}

function perConn(before: MemoryReport, after: MemoryReport, n: number): string {
  const k = (a: number, b: number) => `${((b - a) / n / 1024).toFixed(1)} KiB`;
  return `per connection: rss ${k(before.usage.rss, after.usage.rss)}, heapUsed ${k(before.usage.heapUsed, after.usage.heapUsed)}, external+arrayBuffers ${k(before.usage.external, after.usage.external)}`;
}

async function main(): Promise<void> {
  console.log(machineInfo());
  const started = performance.now();
  let server: ForkedMemgate | null = null;
  const idlers: Idler[] = [];
  try {
    server = await forkMemgate([[USER, PASSWORD]]);
    console.log(`memgate on port ${server.port}; ${C} connections, ${ROUNDS} rounds`);

    // The APPENDing connection, and a few messages already in the mailbox.
    const appender = await ImapConn.connect(server.port);
    await appender.login(USER, PASSWORD);
    for (let i = 0; i < PREFILL; i++) {
      const raw = makeMessage(i, 7);
      await appender.ok(Buffer.concat([Buffer.from(`APPEND INBOX {${raw.length}+}\r\n`), raw]));
    }

    const base = await server.memory(true);
    console.log(memLine('server before', base));

    // Setup: connect, LOGIN, SELECT INBOX, IDLE; a few at a time.
    const setupStart = performance.now();
    let failures = 0;
    let firstFailure = '';
    const slots = Array.from({ length: C }, () => new Idler());
    const setup = pool(slots, SETUP, async (idler, i) => {
      try {
        await idler.open(server!.port);
        idlers.push(idler);
      } catch (err) {
        failures++;
        firstFailure ||= String(err);
      }
      if ((i + 1) % 1000 === 0) console.log(`  ${i + 1} set up, ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);
    });
    let setupTimer!: NodeJS.Timeout;
    await Promise.race([
      setup,
      new Promise((_, reject) => {
        setupTimer = setTimeout(() => reject(new Error(`setup not done within ${SETUP_TIMEOUT_MS} ms`)), SETUP_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(setupTimer));
    const setupMs = performance.now() - setupStart;
    console.log(`${idlers.length} idling after ${(setupMs / 1000).toFixed(1)} s (${(idlers.length / (setupMs / 1000)).toFixed(0)} connections/s); ${failures} failed${failures ? `, first: ${firstFailure}` : ''}`);

    const loaded = await server.memory(true);
    console.log(memLine('server with connections idling', loaded));
    console.log(perConn(base, loaded, idlers.length));

    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await new Promise((res) => setTimeout(res, 1000));
      const latencies: number[] = [];
      let resolveAll!: () => void;
      const all = new Promise<void>((res) => (resolveAll = res));
      let start = 0;
      for (const idler of idlers) {
        let seen = false;
        idler.onExists = (at) => {
          if (seen) return;
          seen = true;
          latencies.push(at - start);
          if (latencies.length === idlers.length) resolveAll();
        };
      }
      const cpuBefore = (await server.memory(false)).cpu;
      const raw = makeMessage(1000 + r, 7);
      const tag = appender.tag();
      start = performance.now();
      const appended = appender.send(tag, [Buffer.from(`${tag} APPEND INBOX {${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]);
      let timer!: NodeJS.Timeout;
      await Promise.race([all, new Promise<void>((res) => (timer = setTimeout(res, ROUND_TIMEOUT_MS)))]);
      clearTimeout(timer);
      const wallMs = performance.now() - start;
      const t = await appended;
      const cpuAfter = (await server.memory(false)).cpu;
      for (const idler of idlers) idler.onExists = null;
      const round: Round = {
        appendMs: t.ms,
        latencies,
        missing: idlers.length - latencies.length,
        serverCpuMs: (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000,
        wallMs,
      };
      rounds.push(round);
      console.log(
        `round ${r + 1}: APPEND OK after ${ms(t.ms)}; EXISTS p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
          `max ${ms(Math.max(...latencies))}; missing ${round.missing}; server CPU ${ms(round.serverCpuMs)} over ${ms(wallMs)}`,
      );
    }

    const after = await server.memory(true);
    console.log(memLine('server after the rounds', after));
    console.log(perConn(base, after, idlers.length));

    // Disconnect everyone; the server should drop back to about where it started.
    for (const idler of idlers) idler.conn.close();
    const deadline = Date.now() + 30_000;
    let drained = await server.memory(true);
    while (drained.sessions > 1 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      drained = await server.memory(true);
    }
    // A closed session's socket is destroyed by a 1 s timer (src/imap/server.ts), which
    // keeps it reachable until then: measure after those have fired.
    await new Promise((res) => setTimeout(res, 2500));
    drained = await server.memory(true);
    console.log(memLine('server after disconnecting (appender still connected)', drained));
    console.log(`retained after disconnect: heapUsed ${mb(drained.usage.heapUsed - base.usage.heapUsed)}, rss ${mb(drained.usage.rss - base.usage.rss)} above the start`);
    await appender.logout();

    console.log('\n| round | APPEND OK | EXISTS p50 | p99 | max | missing | server CPU / wall |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    rounds.forEach((r, i) => {
      console.log(
        `| ${i + 1} | ${ms(r.appendMs)} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 99))} | ${ms(Math.max(...r.latencies))} | ${r.missing} | ${ms(r.serverCpuMs)} / ${ms(r.wallMs)} |`,
      );
    });
    console.log(`\ntotal runtime ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const idler of idlers) idler.conn?.close();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
