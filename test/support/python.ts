// Runs a few lines of Python's imaplib against a test server: `m` is logged in with INBOX
// selected, the lines fill the dict `out`, which comes back parsed from JSON.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function imaplibSession(port: number, creds: { user: string; password: string }, lines: string): Promise<Record<string, unknown>> {
  const script = [
    'import imaplib, json, sys',
    'm = imaplib.IMAP4(sys.argv[1], int(sys.argv[2]))',
    'm.login(sys.argv[3], sys.argv[4])',
    "m.select('INBOX')",
    'out = {}',
    lines.trim(),
    'm.logout()',
    'print(json.dumps(out))',
  ].join('\n');
  const { stdout } = await run('python3', ['-c', script, '127.0.0.1', String(port), creds.user, creds.password]);
  return JSON.parse(stdout) as Record<string, unknown>;
}
