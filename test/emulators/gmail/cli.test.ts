// The stand-alone emulator (cli.ts) starts, prints what a demo needs, and serves the API.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

describe('gmail emulator: stand-alone cli', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGTERM');
  });

  it('prints the root URL and a token per user, then answers', async () => {
    child = spawn(process.execPath, [path.join(__dirname, 'cli.js'), '--port', '0', '--user', 'demo@example.com'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const rl = readline.createInterface({ input: child.stdout! });
    for await (const line of rl) {
      lines.push(line);
      if (line.includes('access_token=')) break;
    }
    const root = /on (http:\/\/\S+\/)$/.exec(lines[0]!)![1]!;
    const token = /access_token=(\S+)/.exec(lines[lines.length - 1]!)![1]!;
    const res = await fetch(`${root}gmail/v1/users/me/messages?q=subject:welcome`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { resultSizeEstimate: number }).resultSizeEstimate, 1);
  });
});
