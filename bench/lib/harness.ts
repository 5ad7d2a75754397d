// Shared helpers for the benchmark scripts: the forked memgate, machine facts, statistics.
import { fork, execSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { MemoryReport } from './server-child';

export interface ForkedMemgate {
  port: number;
  /** Implicit TLS (self-signed certificate). */
  tlsPort: number;
  submissionPort: number;
  /** The database it runs on: more memgate processes can join it (forkMemgate's databaseUrl). */
  databaseUrl: string;
  child: ChildProcess;
  memory(gc?: boolean): Promise<MemoryReport>;
  /** Starts the CPU profiler; stop(file) writes the .cpuprofile. */
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  /** Writes a heap snapshot (after gc) into `file`; resolves with its path. */
  snapshot(file: string): Promise<string>;
  /** Lets `user` send as `addresses` through an SMTP relay on loopback `relayPort` (`relay`: more smtpRelay settings). */
  setupSending(user: string, addresses: string[], relayPort: number, relay?: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface ForkOptions {
  /** Join this database (another forked memgate's) instead of starting a fresh one. */
  databaseUrl?: string;
  /** Give the users a cheap password hash (many logins; login cost not measured). */
  fastLogin?: boolean;
  /** memgate settings (configSchema keys, e.g. outboxConcurrency). */
  settings?: Record<string, unknown>;
}

/**
 * Starts memgate in a child process. BENCH_SERVER_NODE_ARGS adds node flags to it
 * (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
export async function forkMemgate(users: Array<[string, string]>, options: ForkOptions = {}): Promise<ForkedMemgate> {
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  const child = fork(path.join(__dirname, 'server-child.js'), [], {
    execArgv: ['--expose-gc', ...extra],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters = new Map<string, Array<(msg: { type: string }) => void>>();
  let failure: Error | null = null;
  child.on('message', (msg: { type: string; message?: string }) => {
    if (msg.type === 'error') {
      failure = new Error(`memgate child: ${msg.message}`);
      console.error(failure.message);
    }
    const list = waiters.get(msg.type);
    const w = list?.shift();
    w?.(msg);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(failure ?? new Error(`memgate child exited (${code ?? signal})`))),
  );
  exited.catch(() => undefined);
  const request = <T>(msg: object, answer: string, timeoutMs = 120_000): Promise<T> => {
    const p = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`memgate child: no ${answer} within ${timeoutMs} ms`)), timeoutMs);
      const list = waiters.get(answer) ?? [];
      list.push((m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      waiters.set(answer, list);
      child.send(msg);
    });
    return Promise.race([p, exited]);
  };
  const ready = await request<{ port: number; tlsPort: number; submissionPort: number; databaseUrl: string }>(
    { type: 'start', users, ...options },
    'ready',
  );
  return {
    port: ready.port,
    tlsPort: ready.tlsPort,
    submissionPort: ready.submissionPort,
    databaseUrl: ready.databaseUrl,
    child,
    memory: (gc = true) => request<MemoryReport>({ type: 'memory', gc }, 'memory'),
    profileStart: async () => {
      await request({ type: 'profile', action: 'start' }, 'profile');
    },
    profileStop: async (file) => {
      await request({ type: 'profile', action: 'stop', path: file }, 'profile');
    },
    snapshot: async (file) => (await request<{ path: string }>({ type: 'snapshot', path: file }, 'snapshot', 600_000)).path,
    async setupSending(user, addresses, relayPort, relay) {
      await request({ type: 'sending', user, addresses, relayPort, relay }, 'sending');
    },
    async stop() {
      if (child.exitCode !== null) return;
      await request({ type: 'stop' }, 'stopped', 60_000).catch((err: unknown) => {
        console.error('memgate child did not stop cleanly:', err);
        child.kill('SIGKILL');
      });
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

/** Machine facts for RESULTS.md. */
export function machineInfo(): string {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  return [
    `date: ${new Date().toISOString()}`,
    `node: ${process.version}`,
    `nproc: ${sh('nproc')}`,
    `cpu: ${os.cpus()[0]?.model ?? '?'}`,
    `free -h:\n${sh('free -h')}`,
    `ulimit -n: ${sh('ulimit -n')}`,
    `dovecot: ${sh('dovecot --version 2>/dev/null || echo none')}`,
    `git: ${sh('git rev-parse --short HEAD 2>/dev/null')}`,
  ].join('\n');
}

/** Percentile by nearest rank over a sorted copy. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const ms = (v: number): string => `${v.toFixed(1)} ms`;

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  });
  await Promise.all(runners);
}
