// The POP3 adapter: one maildrop, seen as the folder 'INBOX', keyed by UIDL. POP3 has no
// flags, folders or cursors, so every poll reports a full snapshot and the sync engine
// reconciles it. Duplicate UIDLs (servers that derive them from a content hash) are told
// apart by the content's own hash.
import { createHash } from 'node:crypto';
import {
  AdapterError,
  type AdapterAccount,
  type BackendAdapter,
  type BackendCapabilities,
  type BackendFolder,
  type BackendSession,
  type ChangeSet,
  type ListedMessage,
  type TrafficStats,
  type WriteBackOp,
} from '../contract';
import { Pop3Client } from './client';

export const POP3_FOLDER = 'INBOX';

export interface Pop3Settings {
  host: string;
  port: number;
  security: 'tls' | 'starttls' | 'none';
  /** Accept any certificate (tests only: the connection can then be intercepted). */
  insecure?: boolean;
  /** PEM certificates trusted instead of the system's CAs (the ISP's CA, or a self-signed server certificate). */
  caPem?: string;
  /** SHA-256 fingerprint of the one certificate accepted, whoever signed it. */
  tlsFingerprint?: string;
  /** The name the certificate must carry when it is not `host`. */
  tlsServername?: string;
  pollIntervalSeconds?: number;
  /** EXPUNGE in INBOX deletes at the server (DELE + QUIT); otherwise it only hides. */
  deleteOnExpunge?: boolean;
  timeoutMs?: number;
}

export function pop3Settings(raw: Record<string, unknown>): Pop3Settings {
  const host = raw.host;
  const port = raw.port;
  const security = raw.security;
  if (typeof host !== 'string' || host === '') throw new AdapterError('unsupported', 'POP3 account has no host');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new AdapterError('unsupported', 'POP3 account has no valid port');
  if (security !== 'tls' && security !== 'starttls' && security !== 'none') throw new AdapterError('unsupported', 'POP3 account security must be tls, starttls or none');
  if (raw.tlsFingerprint !== undefined && (typeof raw.tlsFingerprint !== 'string' || !/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(raw.tlsFingerprint))) {
    throw new AdapterError('unsupported', 'tlsFingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  }
  return {
    host,
    port,
    security,
    insecure: raw.insecure === true,
    caPem: typeof raw.caPem === 'string' ? raw.caPem : undefined,
    tlsFingerprint: typeof raw.tlsFingerprint === 'string' ? raw.tlsFingerprint : undefined,
    tlsServername: typeof raw.tlsServername === 'string' ? raw.tlsServername : undefined,
    pollIntervalSeconds: typeof raw.pollIntervalSeconds === 'number' ? raw.pollIntervalSeconds : undefined,
    deleteOnExpunge: raw.deleteOnExpunge === true,
    timeoutMs: typeof raw.timeoutMs === 'number' ? raw.timeoutMs : undefined,
  };
}

/** Backend id of the k-th message (k >= 1) among those sharing one UIDL and one content hash. */
function duplicateId(uidl: string, sha: string, k: number): string {
  // A space never occurs in a UIDL (RFC 1939 7: 0x21 to 0x7E), so these ids cannot clash with one.
  return k === 1 ? `${uidl} ${sha.slice(0, 16)}` : `${uidl} ${sha.slice(0, 16)} ${k}`;
}

class Pop3Session implements BackendSession {
  /** backend id -> message number, from this session's listing. */
  private numbers: Map<string, number> | null = null;
  /** Bodies this session already read (duplicate UIDLs are fetched while listing). */
  private readonly fetched = new Map<string, Buffer>();
  /** TOP was compared with RETR once in this session (fetchHeaders). */
  private topChecked = false;

  constructor(
    private readonly client: Pop3Client,
    private readonly settings: Pop3Settings,
  ) {}

  async listFolders(): Promise<BackendFolder[]> {
    return [{ id: POP3_FOLDER, name: 'INBOX' }];
  }

  /**
   * The cursor is a digest of the UIDL listing: when it is unchanged nothing happened in the
   * maildrop, and the poll costs UIDL and QUIT only (no LIST, no reconciliation).
   */
  async changes(folderId: string, cursor: string | null): Promise<ChangeSet> {
    if (folderId !== POP3_FOLDER) throw new AdapterError('gone', `POP3 has no folder ${folderId}`);
    const uidl = await this.client.uidl();
    const digest = createHash('sha256').update(uidl.map((u) => `${u.n} ${u.uid}`).join('\n')).digest('hex');
    if (cursor === digest && !this.hasDuplicates(uidl)) {
      this.numbers = new Map(uidl.map((u) => [u.uid, u.n]));
      return { kind: 'delta', changes: [], cursor: digest };
    }
    return { kind: 'snapshot', folderId, messages: await this.listing(uidl), cursor: digest };
  }

  private hasDuplicates(uidl: ReadonlyArray<{ uid: string }>): boolean {
    return new Set(uidl.map((u) => u.uid)).size !== uidl.length;
  }

  private async listing(known?: Array<{ n: number; uid: string }>): Promise<ListedMessage[]> {
    const uidl = known ?? (await this.client.uidl());
    const sizes = await this.client.list();
    const byUidl = new Map<string, number[]>();
    for (const { n, uid } of uidl) byUidl.set(uid, [...(byUidl.get(uid) ?? []), n]);
    const ids = new Map<number, string>();
    for (const [uid, ns] of byUidl) {
      if (ns.length === 1) {
        ids.set(ns[0], uid);
        continue;
      }
      // Duplicate UIDLs: the content decides; identical contents are numbered in order.
      const seen = new Map<string, number>();
      for (const n of ns) {
        const raw = await this.client.retr(n);
        const sha = createHash('sha256').update(raw).digest('hex');
        const k = (seen.get(sha) ?? 0) + 1;
        seen.set(sha, k);
        const id = duplicateId(uid, sha, k);
        ids.set(n, id);
        this.fetched.set(id, raw);
      }
    }
    this.numbers = new Map();
    const messages: ListedMessage[] = [];
    for (const { n } of uidl) {
      const id = ids.get(n)!;
      this.numbers.set(id, n);
      const raw = this.fetched.get(id);
      messages.push({ id, size: raw?.length ?? sizes.get(n) ?? 0, ...(raw ? { sha256: createHash('sha256').update(raw).digest('hex') } : {}) });
    }
    return messages;
  }

  async fetchRaw(folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer) => Promise<void>): Promise<void> {
    if (folderId !== POP3_FOLDER) throw new AdapterError('gone', `POP3 has no folder ${folderId}`);
    if (!this.numbers) await this.listing();
    const wanted: Array<{ id: string; n: number }> = [];
    for (const id of ids) {
      const cached = this.fetched.get(id);
      if (cached) {
        await onMessage(id, cached);
        continue;
      }
      const n = this.numbers!.get(id);
      if (n === undefined) throw new AdapterError('gone', `message ${id} is no longer in the maildrop`);
      wanted.push({ id, n });
    }
    const idOf = new Map(wanted.map((w) => [w.n, w.id]));
    await this.client.retrMany(
      wanted.map((w) => w.n),
      (n, raw) => onMessage(idOf.get(n)!, raw),
    );
  }

  /**
   * TOP n 0 for each id. RFC 1939 does not promise that TOP's header is byte-for-byte the
   * one RETR sends, so the first call of a session also RETRs the first message and
   * compares (that body is kept for fetchRaw): a server whose TOP differs gets
   * 'unsupported' and the engine fetches whole bodies only.
   */
  async fetchHeaders(folderId: string, ids: readonly string[], onHeader: (id: string, header: Buffer) => Promise<void>): Promise<void> {
    if (folderId !== POP3_FOLDER) throw new AdapterError('gone', `POP3 has no folder ${folderId}`);
    if (!this.client.hasTop) throw new AdapterError('unsupported', 'the POP3 server does not offer TOP');
    if (!this.numbers) await this.listing();
    const wanted: Array<{ id: string; n: number }> = [];
    for (const id of ids) {
      const n = this.numbers!.get(id);
      if (n === undefined) throw new AdapterError('gone', `message ${id} is no longer in the maildrop`);
      wanted.push({ id, n });
    }
    if (wanted.length === 0) return;
    if (!this.topChecked) {
      const first = wanted[0];
      const header = await this.client.top(first.n, 0);
      const raw = this.fetched.get(first.id) ?? (await this.client.retr(first.n));
      this.fetched.set(first.id, raw);
      if (header.length === 0 || !raw.subarray(0, header.length).equals(header)) {
        throw new AdapterError('unsupported', `TOP ${first.n} 0 is not how RETR ${first.n} begins: headers are not fetched first from this server`);
      }
      this.topChecked = true;
    }
    const idOf = new Map(wanted.map((w) => [w.n, w.id]));
    await this.client.topMany(
      wanted.map((w) => w.n),
      (n, header) => onHeader(idOf.get(n)!, header),
    );
  }

  async apply(op: WriteBackOp): Promise<void> {
    switch (op.kind) {
      case 'expunge': {
        // Without --delete-on-expunge an expunge only hides the message (done in the store).
        if (!this.settings.deleteOnExpunge) return;
        if (!this.numbers) await this.listing();
        const n = this.numbers!.get(op.id);
        if (n === undefined) return; // already gone: applying twice is applying once
        if (!(await this.client.dele(n))) throw new AdapterError('protocol', `DELE ${n} refused`);
        return;
      }
      case 'flags':
        return; // POP3 keeps no flags; they live in the shadow store
      case 'move':
      case 'copy':
      case 'append':
      case 'createFolder':
      case 'renameFolder':
      case 'deleteFolder':
        throw new AdapterError('unsupported', `POP3 cannot ${op.kind}`);
      default: {
        const never: never = op;
        throw new AdapterError('unsupported', `unknown write-back ${JSON.stringify(never)}`);
      }
    }
  }

  close(): Promise<void> {
    return this.client.quit();
  }

  abort(): void {
    this.client.abort();
  }
}

export class Pop3Adapter implements BackendAdapter {
  readonly kind = 'pop3';
  readonly capabilities: BackendCapabilities;
  readonly stats: TrafficStats = { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
  readonly settings: Pop3Settings;
  private loginDelaySeconds = 0;
  private lastLoginAt: number | null = null;

  constructor(private readonly account: AdapterAccount) {
    this.settings = pop3Settings(account.settings);
    this.capabilities = {
      folders: false,
      labels: false,
      serverFlags: false,
      keywords: false,
      move: false,
      append: false,
      send: false,
      push: false,
      changeCursors: false,
      delete: this.settings.deleteOnExpunge === true,
      // DELE takes effect at QUIT.
      commitOnClose: true,
    };
  }

  async connect(): Promise<BackendSession> {
    // Logging in again within the server's LOGIN-DELAY would only be refused.
    const wait = this.nextSessionInMs();
    if (wait > 0) {
      throw new AdapterError('unavailable', `the POP3 server allows one login every ${this.loginDelaySeconds} s (LOGIN-DELAY); the next in ${Math.ceil(wait / 1000)} s`, {
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    const s = this.settings;
    const client = await Pop3Client.connect({ ...s, fingerprint256: s.tlsFingerprint, servername: s.tlsServername, stats: this.stats });
    try {
      const { username, password } = this.account.credentials;
      if (typeof username !== 'string' || typeof password !== 'string') throw new AdapterError('auth', 'POP3 account has no username/password');
      await client.login(username, password);
    } catch (err) {
      client.abort();
      throw err;
    }
    // Taken after the server accepted the login, so never earlier than the server's own clock.
    this.lastLoginAt = Date.now();
    this.loginDelaySeconds = client.capabilities.loginDelay ?? 0;
    return new Pop3Session(client, this.settings);
  }

  /** The server's LOGIN-DELAY (RFC 2449 6.5) as the last login announced it; 0: none. */
  get minSessionIntervalSeconds(): number {
    return this.loginDelaySeconds;
  }

  /** Milliseconds until LOGIN-DELAY allows the next login (a second of margin); 0: now. */
  nextSessionInMs(): number {
    if (this.loginDelaySeconds <= 0 || this.lastLoginAt === null) return 0;
    return Math.max(0, this.lastLoginAt + (this.loginDelaySeconds + 1) * 1000 - Date.now());
  }

  /** Logs in and lists once: a server without UIDL cannot be served (stable ids). */
  async probe(): Promise<void> {
    const session = await this.connect();
    try {
      await session.changes(POP3_FOLDER, null);
      await session.close();
    } catch (err) {
      session.abort();
      throw err;
    }
  }
}

export function createPop3Adapter(account: AdapterAccount): BackendAdapter {
  return new Pop3Adapter(account);
}
