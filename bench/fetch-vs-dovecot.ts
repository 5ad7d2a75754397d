// Benchmark: `UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)` on a 10,000-message mailbox,
// memgate against Dovecot on the same machine, with APPEND throughput as a side figure.
//
//   npm run bench:fetch            (builds first)
//   node dist/bench/fetch-vs-dovecot.js
// Environment:
//   BENCH_MESSAGES          messages to load (default 10000)
//   BENCH_WINDOW            APPENDs in flight per connection (default 64)
//   BENCH_WARM_RUNS         warm runs after the cold one (default 3)
//   BENCH_DUMP              folder: write each server's cold FETCH answer there, for diffing
//   BENCH_SERVER_NODE_ARGS  node flags for the memgate process (e.g. --cpu-prof)
//
// memgate runs in a child process (bench/lib/server-child.ts) on a fresh database of the
// embedded PostgreSQL (fsync off, as in tests); Dovecot 2.3 runs from test/support/dovecot.ts
// with Maildir and mail_fsync=never, so neither side pays for disk flushes.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDovecot, dovecotAvailable, type DovecotInstance } from '../test/support/dovecot';
import { ImapConn } from './lib/imap-conn';
import { makeMessage } from './lib/messages';
import { forkMemgate, machineInfo, mb, pool, type ForkedMemgate } from './lib/harness';
import { runBench } from './lib/run';

const N = Number(process.env.BENCH_MESSAGES ?? 10000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 3);
const DUMP = process.env.BENCH_DUMP;
const USER = 'bench';
const PASSWORD = 'bench-pass';
const FETCH = 'UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)';
/** Any single command taking longer than this is reported as a hang. */
const COMMAND_TIMEOUT_MS = 10 * 60_000;

interface ServerResult {
  name: string;
  appendMs: number;
  appendBytes: number;
  selectMs: number;
  cold: FetchRun;
  warm: FetchRun[];
}

interface FetchRun {
  ms: number;
  bytes: number;
  fetched: number;
}

function withTimeout<T>(p: Promise<T>, what: string, ms = COMMAND_TIMEOUT_MS): Promise<T> {
  let timer!: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function load(port: number, messages: Buffer[]): Promise<{ ms: number; bytes: number }> {
  const conn = await ImapConn.connect(port);
  await conn.login(USER, PASSWORD);
  let bytes = 0;
  let failures = 0;
  let firstFailure = '';
  const start = performance.now();
  await pool(messages, WINDOW, async (raw, i) => {
    const flags = i % 3 === 0 ? '(\\Seen) ' : i % 17 === 0 ? '(\\Flagged $Work) ' : '';
    const tag = conn.tag();
    bytes += raw.length;
    const t = await conn.send(tag, [Buffer.from(`${tag} APPEND INBOX ${flags}{${raw.length}+}\r\n`, 'latin1'), raw, Buffer.from('\r\n')]);
    if (t.status !== 'OK') {
      failures++;
      firstFailure ||= t.line;
    }
  });
  const ms = performance.now() - start;
  await conn.logout();
  if (failures > 0) throw new Error(`${failures} APPENDs failed, first: ${firstFailure}`);
  return { ms, bytes };
}

async function fetchRuns(name: string, port: number): Promise<Omit<ServerResult, 'appendMs' | 'appendBytes'>> {
  // A new connection, as a client opening the mailbox after delivery would.
  const conn = await ImapConn.connect(port);
  await conn.login(USER, PASSWORD);
  const sel = await conn.ok('SELECT INBOX');
  const runs: FetchRun[] = [];
  for (let r = 0; r <= WARM_RUNS; r++) {
    if (r === 0 && DUMP) conn.capture = [];
    const t = await withTimeout(conn.command(FETCH), `${name} ${FETCH}`);
    if (t.status !== 'OK') throw new Error(`${name}: FETCH failed: ${t.line}`);
    const fetched = t.untagged.get('FETCH') ?? 0;
    if (fetched !== N) throw new Error(`${name}: ${fetched} FETCH responses for ${N} messages`);
    runs.push({ ms: t.ms, bytes: t.bytes, fetched });
    if (r === 0 && DUMP && conn.capture) {
      fs.mkdirSync(DUMP, { recursive: true });
      fs.writeFileSync(path.join(DUMP, `${name}-cold-fetch.txt`), Buffer.concat(conn.capture));
      conn.capture = null;
    }
    console.log(`  ${name} ${r === 0 ? 'cold' : `warm ${r}`}: ${t.ms.toFixed(0)} ms, ${t.bytes} bytes`);
  }
  await conn.logout();
  return { name, selectMs: sel.ms, cold: runs[0], warm: runs.slice(1) };
}

function best(runs: FetchRun[]): FetchRun {
  return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
}

function report(results: ServerResult[]): string {
  const lines: string[] = [];
  lines.push(`messages: ${N} (${mb(results[0].appendBytes)} total), APPEND window ${WINDOW}, ${WARM_RUNS} warm runs`);
  lines.push('');
  lines.push('| server | APPEND total | APPEND msg/s | SELECT | FETCH cold | FETCH warm best | warm runs | bytes received |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const r of results) {
    const w = best(r.warm);
    lines.push(
      `| ${r.name} | ${(r.appendMs / 1000).toFixed(1)} s | ${(N / (r.appendMs / 1000)).toFixed(0)} | ${r.selectMs.toFixed(0)} ms | ` +
        `${r.cold.ms.toFixed(0)} ms | ${w.ms.toFixed(0)} ms | ${r.warm.map((x) => x.ms.toFixed(0)).join(', ')} ms | ${r.cold.bytes} |`,
    );
  }
  const m = results.find((r) => r.name === 'memgate');
  const d = results.find((r) => r.name === 'dovecot');
  if (m && d) {
    lines.push('');
    lines.push(`ratio memgate/Dovecot: FETCH cold ${(m.cold.ms / d.cold.ms).toFixed(2)}x, FETCH warm best ${(best(m.warm).ms / best(d.warm).ms).toFixed(2)}x, ` +
      `APPEND time ${(m.appendMs / d.appendMs).toFixed(2)}x, SELECT ${(m.selectMs / d.selectMs).toFixed(2)}x, bytes ${(m.cold.bytes / d.cold.bytes).toFixed(3)}x`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  console.log(machineInfo());
  console.log(`generating ${N} messages...`);
  const messages = Array.from({ length: N }, (_, i) => makeMessage(i));
  const results: ServerResult[] = [];

  let memgate: ForkedMemgate | null = null;
  let dovecot: DovecotInstance | null = null;
  try {
    memgate = await forkMemgate([[USER, PASSWORD]]);
    console.log(`memgate on port ${memgate.port}: loading...`);
    const m = await load(memgate.port, messages);
    console.log(`  memgate APPEND: ${(m.ms / 1000).toFixed(1)} s`);
    results.push({ ...(await fetchRuns('memgate', memgate.port)), appendMs: m.ms, appendBytes: m.bytes });
    const mem = await memgate.memory(true);
    console.log(`  memgate process after the runs: rss ${mb(mem.usage.rss)}, heapUsed ${mb(mem.usage.heapUsed)}`);
    await memgate.stop();
    memgate = null;

    if (!dovecotAvailable()) {
      console.log('dovecot not installed: memgate figures only');
    } else {
      dovecot = await startDovecot({ users: { [USER]: PASSWORD }, extraConfig: 'mail_fsync = never\n' });
      console.log(`dovecot on port ${dovecot.imapPort}: loading...`);
      const d = await load(dovecot.imapPort, messages);
      console.log(`  dovecot APPEND: ${(d.ms / 1000).toFixed(1)} s`);
      results.push({ ...(await fetchRuns('dovecot', dovecot.imapPort)), appendMs: d.ms, appendBytes: d.bytes });
    }
  } finally {
    await memgate?.stop();
    await dovecot?.stop();
  }
  console.log('\n' + report(results));
}

runBench(main);
