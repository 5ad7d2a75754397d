// Self-test of the private Dovecot harness: a real IMAP client (imapflow) appends a message
// and reads it back; a raw POP3 conversation sees it in UIDL and RETR; a message dropped into
// the Maildir by deliver() reaches both protocols.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { ImapFlow } from 'imapflow';
import { requireDovecot, startDovecot, type DovecotInstance } from '../support/dovecot';

/** A minimal POP3 conversation over TCP (RFC 1939): one command at a time. */
class Pop3Conversation {
  /** Every conversation opened, so a failed test does not leave a session behind. */
  static readonly live = new Set<Pop3Conversation>();
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<{ pop: Pop3Conversation; greeting: string }> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const pop = new Pop3Conversation(socket);
    Pop3Conversation.live.add(pop);
    return { pop, greeting: await pop.readLine() };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const i = this.buffer.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 2);
        return line;
      }
      if (this.closed) throw new Error(`POP3 connection closed; pending: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends a command; returns the status line (must be +OK). */
  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    const status = await this.readLine();
    assert.match(status, /^\+OK/, `POP3 ${line.split(' ')[0]} failed: ${status}`);
    return status;
  }

  /** Sends a command whose answer is multi-line; returns the lines, dot-unstuffed. */
  async multiline(line: string): Promise<string[]> {
    await this.command(line);
    const lines: string[] = [];
    for (;;) {
      const l = await this.readLine();
      if (l === '.') return lines;
      lines.push(l.startsWith('..') ? l.slice(1) : l);
    }
  }

  async quit(): Promise<void> {
    await this.command('QUIT');
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
    Pop3Conversation.live.delete(this);
  }
}

function message(subject: string, body: string): string {
  return [
    'From: Bob <bob@example.org>',
    'To: Alice <alice@example.org>',
    `Subject: ${subject}`,
    'Date: Mon, 02 Jun 2025 10:00:00 +0000',
    `Message-ID: <${subject.replace(/\W/g, '')}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

describe('Dovecot test harness', function () {
  let dovecot: DovecotInstance | undefined;

  before(async function () {
    requireDovecot(this);
    dovecot = await startDovecot({ users: { alice: 'alice-pw', bob: 'bob-pw' } });
  });

  afterEach(function () {
    for (const pop of Pop3Conversation.live) pop.close();
  });

  after(async function () {
    await dovecot?.stop();
  });

  function server(): DovecotInstance {
    if (!dovecot) throw new Error('dovecot not started');
    return dovecot;
  }

  it('listens on two distinct loopback ports', function () {
    const d = server();
    assert.ok(d.imapPort > 0 && d.pop3Port > 0);
    assert.notEqual(d.imapPort, d.pop3Port);
    assert.match(d.mailDir('alice'), /alice[\\/]Maildir$/);
  });

  it('APPENDs over IMAP, fetches it back, and POP3 UIDL sees it', async function () {
    const d = server();
    const raw = message('harness append', 'Hello from the harness self-test.');
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: d.imapPort,
      secure: false,
      auth: { user: 'alice', pass: 'alice-pw' },
      logger: false,
    });
    await client.connect();
    try {
      const appended = await client.append('INBOX', raw, ['\\Seen']);
      assert.ok(appended, 'APPEND returned nothing');
      const mailbox = await client.mailboxOpen('INBOX');
      assert.equal(mailbox.exists, 1);
      const fetched = await client.fetchOne('*', { uid: true, source: true, envelope: true, flags: true });
      assert.ok(fetched, 'FETCH returned nothing');
      assert.equal(fetched.envelope?.subject, 'harness append');
      assert.ok(fetched.flags?.has('\\Seen'));
      assert.equal(fetched.source?.toString('latin1'), raw);
      if (appended.uid !== undefined) assert.equal(fetched.uid, appended.uid);
    } finally {
      await client.logout();
    }

    const { pop, greeting } = await Pop3Conversation.open(d.pop3Port);
    assert.match(greeting, /^\+OK/);
    await pop.command('USER alice');
    await pop.command('PASS alice-pw');
    const uidl = await pop.multiline('UIDL');
    assert.equal(uidl.length, 1, `UIDL: ${uidl.join(' | ')}`);
    assert.match(uidl[0] ?? '', /^1 [0-9A-F]{16}$/i);
    const retr = await pop.multiline('RETR 1');
    assert.ok(retr.includes('Subject: harness append'));
    assert.ok(retr.includes('Hello from the harness self-test.'));
    await pop.quit();
  });

  it('deliver() drops mail into the Maildir that POP3 and IMAP both read', async function () {
    const d = server();
    await d.deliver('bob', message('delivered', 'Dropped into Maildir/new.'));
    const { pop } = await Pop3Conversation.open(d.pop3Port);
    await pop.command('USER bob');
    await pop.command('PASS bob-pw');
    const uidl = await pop.multiline('UIDL');
    assert.equal(uidl.length, 1);
    const top = await pop.multiline('TOP 1 0');
    assert.ok(top.includes('Subject: delivered'));
    await pop.quit();

    const client = new ImapFlow({
      host: '127.0.0.1',
      port: d.imapPort,
      secure: false,
      auth: { user: 'bob', pass: 'bob-pw' },
      logger: false,
    });
    await client.connect();
    try {
      const status = await client.status('INBOX', { messages: true });
      assert.ok(status, 'STATUS returned nothing');
      assert.equal(status.messages, 1);
    } finally {
      await client.logout();
    }
  });

  it('rejects a wrong password', async function () {
    const d = server();
    const { pop } = await Pop3Conversation.open(d.pop3Port);
    await pop.command('USER alice');
    try {
      await assert.rejects(pop.command('PASS wrong'), /PASS failed/);
    } finally {
      pop.close();
    }
  });
});
