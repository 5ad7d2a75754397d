// Benchmark: many concurrent IDLE connections on one mailbox, then one APPEND from another
// connection; how long until each IDLE connection sees `* n EXISTS`, what one event costs
// the server in CPU, and what each idle connection costs it in memory.
//
//   npm run bench:idle             (builds first, raises the fd limit to the hard limit)
//   BENCH_IDLE_CONNECTIONS=50000 npm run bench:idle
// Environment:
//   BENCH_IDLE_CONNECTIONS  IDLE connections (default 5000)
//   BENCH_IDLE_SERVERS      memgate processes sharing one database (default: enough to keep
//                           each under 16,000 connections, since one process may hold no more
//                           file descriptors than `ulimit -Hn`)
//   BENCH_IDLE_CLIENTS      client processes (default: one per 15,000 connections)
//   BENCH_IDLE_ROUNDS       APPEND rounds (default 5)
//   BENCH_IDLE_SETUP        connections being set up at once, per client process (default 16)
//   BENCH_IDLE_PREFILL      messages in the mailbox before the connections SELECT it (default 20)
//   BENCH_IDLE_ROUND_TIMEOUT_MS  give up waiting for a round's EXISTS after this (default 60000)
//   BENCH_IDLE_TLS          1: the IDLE connections use implicit TLS (port 993's listener)
//   BENCH_IDLE_SNAPSHOT     path prefix: heap snapshots of the first memgate before the
//                           connections (<prefix>-before.heapsnapshot) and with them idle (-idle)
//   BENCH_IDLE_PROFILE      path prefix: CPU profile of each memgate during the rounds only
//                           (<prefix>-<server>.cpuprofile)
//   BENCH_SERVER_NODE_ARGS  node flags for the memgate processes (e.g. --cpu-prof)
//
// memgate runs in child processes (bench/lib/server-child.ts), so their memory figures are
// the server's alone; with several, the first has the database and the others join it, and
// an event crosses them through Postgres LISTEN/NOTIFY (design: "Scale-out"). The IDLE
// clients run in other child processes (bench/lib/idle-clients.ts), from several loopback
// source addresses. This process only APPENDs. Latency is measured across processes on one
// clock (performance.timeOrigin + now()): from just before the APPEND is written to the
// arrival of the chunk holding EXISTS at each connection. Client and server share the
// machine's cores, so the client's reading time is part of the latency.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ImapConn } from './lib/imap-conn';
import { makeMessage } from './lib/messages';
import { forkMemgate, machineInfo, mb, ms, percentile, type ForkedMemgate } from './lib/harness';
import type { MemoryReport } from './lib/server-child';
import { now, type Arrivals, type ClientRequest } from './lib/idle-clients';
import { runBench } from './lib/run';

const C = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 5000);
const SERVERS = Number(process.env.BENCH_IDLE_SERVERS ?? Math.max(1, Math.ceil(C / 16_000)));
const CLIENTS = Number(process.env.BENCH_IDLE_CLIENTS ?? Math.max(1, Math.ceil(C / 15_000)));
const ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 5);
const SETUP = Number(process.env.BENCH_IDLE_SETUP ?? 16);
const PREFILL = Number(process.env.BENCH_IDLE_PREFILL ?? 20);
const ROUND_TIMEOUT_MS = Number(process.env.BENCH_IDLE_ROUND_TIMEOUT_MS ?? 60_000);
const SNAPSHOT = process.env.BENCH_IDLE_SNAPSHOT;
const PROFILE = process.env.BENCH_IDLE_PROFILE;
const TLS = process.env.BENCH_IDLE_TLS === '1';
/** The whole setup phase must finish within this, or the run is reported as a hang. */
const SETUP_TIMEOUT_MS = 30 * 60_000;
/** Connections per loopback source address (each has about 28,000 ephemeral ports). */
const PER_ADDRESS = 10_000;
const USER = 'idler';
const PASSWORD = 'idle-pass';

interface Round {
  appendMs: number;
  latencies: number[];
  missing: number;
  /** From the APPEND to the moment the last memgate process handed its last IDLE session the update. */
  serverDoneMs: number;
  serverCpuMs: number;
  serverSystemMs: number;
  clientCpuMs: number;
  wallMs: number;
}

/** A forked client process, with request/answer over IPC. */
class ClientProcess {
  private readonly waiters = new Map<string, Array<(msg: { type: string }) => void>>();
  private readonly exited: Promise<never>;
  onMessage: ((msg: { type: string; opened?: number }) => void) | null = null;

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { type: string; message?: string }) => {
      if (msg.type === 'error') console.error(`client process: ${msg.message}`);
      this.onMessage?.(msg);
      this.waiters.get(msg.type)?.shift()?.(msg);
    });
    this.exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`client process exited (${code ?? signal})`))),
    );
    this.exited.catch(() => undefined);
  }

  static start(): ClientProcess {
    return new ClientProcess(fork(path.join(__dirname, 'lib', 'idle-clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  next<T>(type: string): Promise<T> {
    const p = new Promise<T>((resolve) => {
      const list = this.waiters.get(type) ?? [];
      list.push((m) => resolve(m as T));
      this.waiters.set(type, list);
    });
    return Promise.race([p, this.exited]);
  }

  request<T>(msg: ClientRequest, answer: string): Promise<T> {
    const p = this.next<T>(answer);
    this.child.send(msg);
    return p;
  }
}

function sum(reports: MemoryReport[], pick: (m: MemoryReport) => number): number {
  return reports.reduce((n, m) => n + pick(m), 0);
}

function memLine(label: string, m: MemoryReport[]): string {
  const s = (pick: (m: MemoryReport) => number) => mb(sum(m, pick));
  return (
    `${label}: sessions ${sum(m, (r) => r.sessions)}, rss ${s((r) => r.usage.rss)}, heapUsed ${s((r) => r.usage.heapUsed)}, ` +
    `heapTotal ${s((r) => r.usage.heapTotal)}, external ${s((r) => r.usage.external)}, arrayBuffers ${s((r) => r.usage.arrayBuffers)}, ` +
    `fds ${sum(m, (r) => r.fds)}`
  );
}

function perConn(before: MemoryReport[], after: MemoryReport[], n: number): { rss: number; heap: number; external: number } {
  const k = (pick: (m: MemoryReport) => number) => (sum(after, pick) - sum(before, pick)) / n / 1024;
  return { rss: k((r) => r.usage.rss), heap: k((r) => r.usage.heapUsed), external: k((r) => r.usage.external) };
}

const kib = (v: number): string => `${v.toFixed(1)} KiB`;

/** Kernel memory the machine's sockets take (server and client sides alike): slab and TCP buffers. */
function kernelMemory(): { slabKiB: number; tcpMemKiB: number } {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const slab = Number(/^Slab:\s+(\d+) kB/m.exec(read('/proc/meminfo'))?.[1] ?? NaN);
  const pages = Number(/^TCP: .* mem (\d+)/m.exec(read('/proc/net/sockstat'))?.[1] ?? NaN);
  return { slabKiB: slab, tcpMemKiB: pages * 4 };
}
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

async function main(): Promise<void> {
  console.log(machineInfo());
  const started = now();
  const servers: ForkedMemgate[] = [];
  const clients: ClientProcess[] = [];
  let appender: ImapConn | null = null;
  try {
    servers.push(await forkMemgate([[USER, PASSWORD]], { fastLogin: true }));
    for (let i = 1; i < SERVERS; i++) servers.push(await forkMemgate([], { databaseUrl: servers[0].databaseUrl }));
    console.log(
      `memgate x${SERVERS} on ports ${servers.map((s) => (TLS ? s.tlsPort : s.port)).join(', ')}${TLS ? ' (TLS)' : ''}; ` +
        `${C} connections from ${CLIENTS} client processes, ${ROUNDS} rounds`,
    );

    // The APPENDing connection, and a few messages already in the mailbox.
    appender = await ImapConn.connect(servers[0].port);
    await appender.login(USER, PASSWORD);
    // Pipelined, 32 in flight (LITERAL+): a 10,000-message mailbox in well under a minute.
    for (let i = 0; i < PREFILL; i += 32) {
      const batch: Array<Promise<unknown>> = [];
      for (let j = i; j < Math.min(PREFILL, i + 32); j++) {
        const raw = makeMessage(j, 7);
        batch.push(appender.ok(Buffer.concat([Buffer.from(`APPEND INBOX {${raw.length}+}\r\n`), raw])));
      }
      await Promise.all(batch);
    }

    const memory = (gc: boolean) => Promise.all(servers.map((s) => s.memory(gc)));
    const base = await memory(true);
    const kernelBase = kernelMemory();
    console.log(memLine('server before', base));
    if (SNAPSHOT) console.log(`heap snapshot: ${await servers[0].snapshot(`${SNAPSHOT}-before.heapsnapshot`)}`);

    // Setup: every client process opens its share of every server's connections.
    const setupStart = now();
    const shares = Array.from({ length: CLIENTS }, () => servers.map((s) => ({ port: TLS ? s.tlsPort : s.port, count: 0 })));
    for (let i = 0; i < C; i++) shares[i % CLIENTS][Math.floor(i / CLIENTS) % SERVERS].count++;
    let address = 0;
    const openings: Array<Promise<{ ok: number; failed: number; firstFailure: string }>> = [];
    const opened = new Array<number>(CLIENTS).fill(0);
    let printed = 0;
    for (let j = 0; j < CLIENTS; j++) {
      const client = ClientProcess.start();
      clients.push(client);
      const total = shares[j].reduce((n, t) => n + t.count, 0);
      const addresses = Array.from({ length: Math.ceil(total / PER_ADDRESS) }, () => `127.0.0.${10 + address++}`);
      client.onMessage = (msg) => {
        if (msg.type !== 'progress') return;
        opened[j] = msg.opened ?? 0;
        const all = opened.reduce((a, b) => a + b, 0);
        if (all - printed < 5000) return;
        printed = all;
        console.log(`  ${all} set up, ${((now() - setupStart) / 1000).toFixed(1)} s`);
      };
      openings.push(
        client.request(
          { type: 'open', targets: shares[j], tls: TLS, sourceAddresses: addresses, perAddress: PER_ADDRESS, user: USER, password: PASSWORD, concurrency: SETUP },
          'opened',
        ),
      );
    }
    let setupTimer!: NodeJS.Timeout;
    const results = await Promise.race([
      Promise.all(openings),
      new Promise<never>((_, reject) => {
        setupTimer = setTimeout(() => reject(new Error(`setup not done within ${SETUP_TIMEOUT_MS} ms`)), SETUP_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(setupTimer));
    const setupMs = now() - setupStart;
    const idling = results.reduce((n, r) => n + r.ok, 0);
    const failures = results.reduce((n, r) => n + r.failed, 0);
    const firstFailure = results.find((r) => r.firstFailure)?.firstFailure ?? '';
    console.log(
      `${idling} idling after ${(setupMs / 1000).toFixed(1)} s (${(idling / (setupMs / 1000)).toFixed(0)} connections/s); ${failures} failed${failures ? `, first: ${firstFailure}` : ''}`,
    );

    const loaded = await memory(true);
    console.log(memLine('server with connections idling', loaded));
    const idle = perConn(base, loaded, idling);
    console.log(`per connection: rss ${kib(idle.rss)}, heapUsed ${kib(idle.heap)}, external ${kib(idle.external)}`);
    const kernel = kernelMemory();
    const kernelPerConn = (kernel.slabKiB - kernelBase.slabKiB) / idling;
    console.log(
      `kernel, whole machine (both ends of each loopback connection): slab +${kernelPerConn.toFixed(1)} KiB, ` +
        `TCP buffers +${((kernel.tcpMemKiB - kernelBase.tcpMemKiB) / idling).toFixed(2)} KiB per connection`,
    );
    if (SNAPSHOT) console.log(`heap snapshot: ${await servers[0].snapshot(`${SNAPSHOT}-idle.heapsnapshot`)}`);

    const rounds: Round[] = [];
    if (PROFILE) await Promise.all(servers.map((s) => s.profileStart()));
    for (let r = 0; r < ROUNDS; r++) {
      await new Promise((res) => setTimeout(res, 1000));
      const armed = await Promise.all(clients.map((c) => c.request<{ cpu: NodeJS.CpuUsage }>({ type: 'arm' }, 'armed')));
      const arrivedAll = Promise.all(clients.map((c) => c.next('all-arrived')));
      const before = await memory(false);
      const raw = makeMessage(1000 + r, 7);
      const tag = appender.tag();
      const start = now();
      const appended = appender.send(tag, [Buffer.from(`${tag} APPEND INBOX {${raw.length}+}\r\n`), raw, Buffer.from('\r\n')]);
      let timer!: NodeJS.Timeout;
      await Promise.race([arrivedAll, new Promise<void>((res) => (timer = setTimeout(res, ROUND_TIMEOUT_MS)))]);
      clearTimeout(timer);
      const wallMs = now() - start;
      const t = await appended;
      const afterRound = await memory(false);
      const reports = await Promise.all(clients.map((c) => c.request<Arrivals>({ type: 'collect' }, 'arrivals')));
      const latencies = reports.flatMap((a) => a.times.map((at) => at - start));
      const round: Round = {
        appendMs: t.ms,
        latencies,
        missing: reports.reduce((n, a) => n + a.missing, 0),
        serverDoneMs: Math.max(...afterRound.map((m, i) => (m.pushes > before[i].pushes ? m.lastPushAt - start : 0))),
        serverCpuMs: afterRound.reduce((n, m, i) => n + cpuMs(m.cpu) - cpuMs(before[i].cpu), 0),
        serverSystemMs: afterRound.reduce((n, m, i) => n + (m.cpu.system - before[i].cpu.system) / 1000, 0),
        clientCpuMs: reports.reduce((n, a, i) => n + cpuMs(a.cpu) - cpuMs(armed[i].cpu), 0),
        wallMs,
      };
      rounds.push(round);
      const closed = reports.reduce((n, a) => n + a.closed, 0);
      console.log(
        `round ${r + 1}: APPEND OK after ${ms(t.ms)}; EXISTS p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ` +
          `max ${ms(Math.max(...latencies))}; missing ${round.missing}${closed ? ` (${closed} closed)` : ''}; ` +
          `server done after ${ms(round.serverDoneMs)}, server CPU ${ms(round.serverCpuMs)} (system ${ms(round.serverSystemMs)}), ` +
          `client CPU ${ms(round.clientCpuMs)} over ${ms(wallMs)}`,
      );
    }

    if (PROFILE) {
      await Promise.all(servers.map((s, i) => s.profileStop(`${PROFILE}-${i}.cpuprofile`)));
      console.log(`CPU profiles: ${PROFILE}-*.cpuprofile`);
    }
    const after = await memory(true);
    console.log(memLine('server after the rounds', after));
    const afterRounds = perConn(base, after, idling);
    console.log(`per connection: rss ${kib(afterRounds.rss)}, heapUsed ${kib(afterRounds.heap)}, external ${kib(afterRounds.external)}`);

    // Disconnect everyone; the servers should drop back to about where they started.
    await Promise.all(clients.map((c) => c.request({ type: 'close' }, 'closed')));
    const deadline = Date.now() + 60_000;
    let drained = await memory(true);
    while (sum(drained, (m) => m.sessions) > 1 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      drained = await memory(true);
    }
    // A closed session's socket may be destroyed by a timer of a second or so
    // (src/imap/server.ts): measure after those have fired.
    await new Promise((res) => setTimeout(res, 2500));
    drained = await memory(true);
    console.log(memLine('server after disconnecting (appender still connected)', drained));
    console.log(
      `retained after disconnect: heapUsed ${mb(sum(drained, (m) => m.usage.heapUsed) - sum(base, (m) => m.usage.heapUsed))}, ` +
        `rss ${mb(sum(drained, (m) => m.usage.rss) - sum(base, (m) => m.usage.rss))} above the start`,
    );
    await appender.logout();

    console.log('\n| round | APPEND OK | EXISTS p50 | p90 | p99 | max | missing | server done | server CPU (system) | client CPU | wall |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    rounds.forEach((r, i) => {
      console.log(
        `| ${i + 1} | ${ms(r.appendMs)} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 90))} | ${ms(percentile(r.latencies, 99))} | ` +
          `${ms(Math.max(...r.latencies))} | ${r.missing} | ${ms(r.serverDoneMs)} | ${ms(r.serverCpuMs)} (${ms(r.serverSystemMs)}) | ` +
          `${ms(r.clientCpuMs)} | ${ms(r.wallMs)} |`,
      );
    });
    // One line to collect repeated runs by.
    const summary = {
      connections: idling,
      servers: SERVERS,
      tls: TLS,
      clients: CLIENTS,
      setupS: +(setupMs / 1000).toFixed(1),
      perConnKiB: { rss: +idle.rss.toFixed(2), heap: +idle.heap.toFixed(2), external: +idle.external.toFixed(2), kernelSlab: +kernelPerConn.toFixed(2) },
      rounds: rounds.map((r) => ({
        p50: +percentile(r.latencies, 50).toFixed(1),
        p99: +percentile(r.latencies, 99).toFixed(1),
        max: +Math.max(...r.latencies).toFixed(1),
        missing: r.missing,
        serverDoneMs: +r.serverDoneMs.toFixed(1),
        serverCpuMs: +r.serverCpuMs.toFixed(1),
        serverSystemMs: +r.serverSystemMs.toFixed(1),
        clientCpuMs: +r.clientCpuMs.toFixed(1),
      })),
    };
    console.log(`\nRESULT ${JSON.stringify(summary)}`);
    console.log(`total runtime ${((now() - started) / 1000).toFixed(0)} s`);
  } finally {
    appender?.close();
    for (const c of clients) if (c.child.connected) c.child.kill();
    for (const s of [...servers].reverse()) await s.stop();
  }
}

runBench(main);
