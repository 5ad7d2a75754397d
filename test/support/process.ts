// Runs memgate as a separate process (the real CLI), for multi-process tests.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';

export interface MemgateProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A port that was free a moment ago (bind 0, read, release). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');

export async function startMemgateProcess(env: Record<string, string>): Promise<MemgateProcess> {
  const port = await freePort();
  const dataDir = env.MEMGATE_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-proc-'));
  const child = spawn(process.execPath, [CLI, 'start'], {
    env: {
      ...process.env,
      MEMGATE_DATA_DIR: dataDir,
      MEMGATE_IMAP_PORT: String(port),
      MEMGATE_IMAPS_PORT: '0',
      MEMGATE_SUBMISSION_PORT: '0',
      MEMGATE_SUBMISSIONS_PORT: '0',
      MEMGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`memgate did not start:\n${out}`)), 60000);
    const check = (): void => {
      if (out.includes('memgate is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`memgate exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    port,
    output: () => out,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
