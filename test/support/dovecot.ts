// A private Dovecot (IMAP + POP3) for tests: the real POP3 backend for the POP3 adapter and
// the reference IMAP server for differential tests. It runs in the foreground as a child
// process, from a config written into a fresh temporary folder, listening only on loopback
// ports picked at start. Nothing of the system's own Dovecot (config, service, state) is used.
// See shared reference "dovecot-test-backend" for the settings and their pitfalls.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface DovecotOptions {
  /** user name -> password (PLAIN). Default: `{ alice: 'secret' }`. */
  users?: Record<string, string>;
  /** Extra lines appended to dovecot.conf (e.g. another `pop3_uidl_format`). */
  extraConfig?: string;
  /** Milliseconds to wait for both greetings. Default 20000. */
  startTimeoutMs?: number;
  /**
   * TLS with this certificate and key (PEM): STLS on the POP3 port and implicit TLS on
   * `pop3sPort`. Default: no TLS.
   */
  tls?: { cert: string; key: string };
}

export interface DovecotInstance {
  host: '127.0.0.1';
  imapPort: number;
  pop3Port: number;
  /** POP3 over implicit TLS (pop3s) when started with `tls`; 0 otherwise. */
  pop3sPort: number;
  /** The temporary folder holding config, users, logs, state and mail. */
  dir: string;
  /** Users and passwords this instance accepts. */
  users: Record<string, string>;
  /** The user's Maildir (cur/ new/ tmp/), as the mail processes see it. */
  mailDir(user: string): string;
  /**
   * Drops a raw RFC 5322 message into the user's Maildir/new, owned by the mail uid, as a
   * local delivery agent would. Returns the file's path. CRLF or LF are kept as given.
   */
  deliver(user: string, message: string | Buffer): Promise<string>;
  /** Dovecot's log so far (for assertion messages and debugging). */
  log(): string;
  /** Stops Dovecot and removes the folder. Safe to call twice. */
  stop(): Promise<void>;
}

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function findDovecotBinary(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, ...SBIN_DIRS]) {
    const candidate = path.join(dir, 'dovecot');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Is the `dovecot` binary installed (Debian: dovecot-core, pulled in by dovecot-imapd)? */
export function dovecotAvailable(): boolean {
  return findDovecotBinary() !== undefined;
}

export const DOVECOT_MISSING_MESSAGE =
  'SKIPPED: dovecot-imapd not installed (apt-get install dovecot-imapd dovecot-pop3d)';

/**
 * Call from a Mocha `before`/`it` (`requireDovecot(this)`). Without Dovecot: in CI it throws
 * (a missing backend must fail the run, not hide tests); elsewhere it warns loudly and skips.
 */
export function requireDovecot(ctx: Mocha.Context): void {
  if (dovecotAvailable()) return;
  if (process.env.CI) {
    throw new Error(`dovecot not found but CI is set: ${DOVECOT_MISSING_MESSAGE}`);
  }
  const bar = '!'.repeat(DOVECOT_MISSING_MESSAGE.length);
  console.warn(`\n${bar}\n${DOVECOT_MISSING_MESSAGE}\n${bar}\n`);
  ctx.skip();
}

// --- accounts -------------------------------------------------------------------------

interface Account {
  name: string;
  uid: number;
  gid: number;
}

function readColonFile(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

function lookupUser(name: string): Account | undefined {
  const row = readColonFile('/etc/passwd').find((r) => r[0] === name);
  if (!row) return undefined;
  return { name, uid: Number(row[2]), gid: Number(row[3]) };
}

function lookupGroupName(gid: number): string | undefined {
  return readColonFile('/etc/group').find((r) => Number(r[2]) === gid)?.[0];
}

interface Identities {
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  mail: Account;
  mailGroupName: string;
}

/**
 * As root (CI), Dovecot refuses to run login or mail processes as uid 0, so they get the
 * Debian system users (dovecot, dovenull) and mail is owned by nobody. As an ordinary user,
 * every process runs as that user.
 */
function identities(): Identities {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    const me = os.userInfo();
    const group = lookupGroupName(me.gid) ?? String(me.gid);
    return {
      internalUser: me.username,
      internalGroup: group,
      loginUser: me.username,
      mail: { name: me.username, uid: me.uid, gid: me.gid },
      mailGroupName: group,
    };
  }
  const dovecot = lookupUser('dovecot');
  const nobody = lookupUser('nobody') ?? { name: 'nobody', uid: 65534, gid: 65534 };
  const internalUser = dovecot ? 'dovecot' : nobody.name;
  const internalGroup = (dovecot ? lookupGroupName(dovecot.gid) : undefined) ??
    lookupGroupName(nobody.gid) ?? 'nogroup';
  return {
    internalUser,
    internalGroup,
    loginUser: lookupUser('dovenull') ? 'dovenull' : nobody.name,
    mail: nobody,
    mailGroupName: lookupGroupName(nobody.gid) ?? 'nogroup',
  };
}

// --- ports ----------------------------------------------------------------------------

/** A port that was free a moment ago (bind port 0, read it, release it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  const a = await freePort();
  let b = await freePort();
  while (b === a) b = await freePort();
  return [a, b];
}

/** Resolves when a connection to the port gets a line starting with `prefix`. */
function greeting(port: number, prefix: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.includes('\n')) done(buffer.startsWith(prefix));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

// --- config ---------------------------------------------------------------------------

function configText(dir: string, ids: Identities, imapPort: number, pop3Port: number,
  extra: string, pop3sPort = 0): string {
  const ssl = pop3sPort > 0 ? `ssl = yes\nssl_cert = <${dir}/tls.crt\nssl_key = <${dir}/tls.key` : 'ssl = no';
  return `# written by memgate's test harness (test/support/dovecot.ts)
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = memgate-test-${path.basename(dir)}
protocols = imap pop3
listen = 127.0.0.1
${ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = ${dir}/dovecot.log
default_internal_user = ${ids.internalUser}
default_internal_group = ${ids.internalGroup}
default_login_user = ${ids.loginUser}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${dir}/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Sent {
    special_use = \\Sent
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${ids.mail.uid} gid=${ids.mail.gid} home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${pop3sPort}
  }
}
service anvil {
  chroot =
}
${extra}
`;
}

function assertSafeUser(name: string): void {
  if (!/^[A-Za-z0-9._@+-]+$/.test(name)) throw new Error(`unsupported test user name: ${name}`);
}

// --- lifecycle ------------------------------------------------------------------------

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** If the test process ends without stop(), do not leave a Dovecot behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function prepareDir(dir: string, ids: Identities, users: Record<string, string>):
  Promise<void> {
  await fsp.chmod(dir, 0o755); // mail and login processes must be able to traverse it
  for (const sub of ['run', 'state', 'mail']) await fsp.mkdir(path.join(dir, sub), { recursive: true });
  await fsp.chmod(path.join(dir, 'mail'), 0o755);
  const lines = Object.entries(users).map(([user, pass]) => {
    assertSafeUser(user);
    if (/[:\n]/.test(pass)) throw new Error(`unsupported test password for ${user}`);
    return `${user}:{PLAIN}${pass}::::::`;
  });
  await fsp.writeFile(path.join(dir, 'users'), lines.join('\n') + '\n', { mode: 0o644 });
  for (const user of Object.keys(users)) {
    const home = path.join(dir, 'mail', user);
    const maildir = path.join(home, 'Maildir');
    for (const p of [home, maildir, ...['cur', 'new', 'tmp'].map((s) => path.join(maildir, s))]) {
      await fsp.mkdir(p, { recursive: true, mode: 0o700 });
      await fsp.chown(p, ids.mail.uid, ids.mail.gid);
    }
  }
}

interface Attempt {
  child: ChildProcess;
  ok: boolean;
  addressInUse: boolean;
}

async function attemptStart(binary: string, dir: string, imapPort: number, pop3Port: number,
  timeoutMs: number): Promise<Attempt> {
  const conf = path.join(dir, 'dovecot.conf');
  const child = spawn(binary, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
  const spawnFailed = new Promise<'exited'>((resolve) => child.once('error', () => resolve('exited')));

  const deadline = Date.now() + timeoutMs;
  const ready = (async (): Promise<'ready' | 'timeout'> => {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) return 'timeout';
      const imapOk = await greeting(imapPort, '* OK', 2000);
      const pop3Ok = imapOk && (await greeting(pop3Port, '+OK', 2000));
      if (imapOk && pop3Ok) return 'ready';
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'timeout';
  })();
  const outcome = await Promise.race([ready, exited, spawnFailed]);
  if (outcome === 'ready') return { child, ok: true, addressInUse: false };

  const log = readLog(dir);
  child.kill('SIGTERM');
  await waitForExit(child, 5000);
  const text = `${output}\n${log}`;
  if (/Address already in use|EADDRINUSE/i.test(text)) return { child, ok: false, addressInUse: true };
  throw new Error(`dovecot did not start (${outcome}):\n${text.trim()}`);
}

/**
 * The temporary folder's parent. As root, the mail and login processes run as other users
 * and must be able to traverse every ancestor: fall back to /tmp when TMPDIR is private.
 */
async function parentDir(ids: Identities): Promise<string> {
  const preferred = os.tmpdir();
  if ((process.getuid?.() ?? 0) !== 0 || ids.mail.uid === 0) return preferred;
  let p = path.resolve(preferred);
  for (;;) {
    const st = await fsp.stat(p);
    if ((st.mode & 0o001) === 0) return '/tmp';
    const up = path.dirname(p);
    if (up === p) return preferred;
    p = up;
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'dovecot.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Starts a private Dovecot with IMAP and POP3 on free loopback ports. */
export async function startDovecot(opts: DovecotOptions = {}): Promise<DovecotInstance> {
  const binary = findDovecotBinary();
  if (!binary) throw new Error(DOVECOT_MISSING_MESSAGE);
  installExitHook();
  const users = { ...(opts.users ?? { alice: 'secret' }) };
  const ids = identities();
  const dir = await fsp.mkdtemp(path.join(await parentDir(ids), 'memgate-dovecot-'));
  await prepareDir(dir, ids, users);

  let child: ChildProcess | undefined;
  let imapPort = 0;
  let pop3Port = 0;
  let pop3sPort = 0;
  if (opts.tls) {
    await fsp.writeFile(path.join(dir, 'tls.crt'), opts.tls.cert);
    await fsp.writeFile(path.join(dir, 'tls.key'), opts.tls.key, { mode: 0o600 });
  }
  for (let attempt = 1; attempt <= 5 && !child; attempt++) {
    [imapPort, pop3Port] = await twoFreePorts();
    if (opts.tls) {
      do pop3sPort = await freePort();
      while (pop3sPort === imapPort || pop3sPort === pop3Port);
    }
    await fsp.writeFile(path.join(dir, 'dovecot.conf'),
      configText(dir, ids, imapPort, pop3Port, opts.extraConfig ?? '', pop3sPort));
    await fsp.rm(path.join(dir, 'run', 'master.pid'), { force: true });
    const result = await attemptStart(binary, dir, imapPort, pop3Port, opts.startTimeoutMs ?? 20000);
    if (result.ok) child = result.child;
  }
  if (!child) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw new Error('dovecot: loopback ports kept being taken (EADDRINUSE) after 5 attempts');
  }

  const started = child;
  let stopped = false;
  const mailDir = (user: string): string => {
    assertSafeUser(user);
    return path.join(dir, 'mail', user, 'Maildir');
  };
  return {
    host: '127.0.0.1',
    imapPort,
    pop3Port,
    pop3sPort,
    dir,
    users,
    mailDir,
    async deliver(user: string, message: string | Buffer): Promise<string> {
      const name = `${Date.now()}.M${randomBytes(6).toString('hex')}P${process.pid}.memgate-test`;
      const tmp = path.join(mailDir(user), 'tmp', name);
      const final = path.join(mailDir(user), 'new', name);
      await fsp.writeFile(tmp, message, { mode: 0o600 });
      await fsp.chown(tmp, ids.mail.uid, ids.mail.gid);
      await fsp.rename(tmp, final);
      return final;
    },
    log: () => readLog(dir),
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      started.kill('SIGTERM');
      if (!(await waitForExit(started, 10000))) {
        started.kill('SIGKILL');
        await waitForExit(started, 5000);
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
