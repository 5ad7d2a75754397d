// Push tests: a memgate whose push listener is its own public URL, subscription rows from the
// store, and an IDLE-ing imapflow client that reports the subjects that arrive.
import type { ImapFlow } from 'imapflow';
import type { PushRow } from '../../src/store/push-subscriptions';
import type { PushStats } from '../../src/sync/push';
import type { SyncServer } from './helpers';
import { eventually } from './helpers';

/** Push on, with the listener as its own public URL; failed subscriptions retried soon. */
export const PUSH_ON = { port: 'ephemeral' as const, publicUrl: 'listener' as const, settings: { retrySeconds: 1 } };

export function pushRows(server: SyncServer, accountId: string): Promise<PushRow[]> {
  return server.memgate.sync.push!.store.forAccount(accountId);
}

export function pushStats(server: SyncServer): PushStats {
  return server.memgate.sync.push!.stats;
}

/** Waits until every folder the account mirrors (or the account, `folders` 0) has an active subscription. */
export async function subscribed(server: SyncServer, accountId: string, perFolder: boolean): Promise<PushRow[]> {
  return eventually(
    async () => {
      const rows = await pushRows(server, accountId);
      const want = perFolder ? (await server.sync.mirroredFolderIds(accountId)).length : 1;
      return want > 0 && rows.length === want && rows.every((r) => r.state === 'active') ? rows : null;
    },
    30000,
    'active push subscriptions',
  );
}

/** Subjects of messages that arrive in the selected mailbox while the client IDLEs. */
export class Arrivals {
  readonly subjects: string[] = [];
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly client: ImapFlow) {}

  /** Opens the mailbox, notes what is there, and IDLEs; each EXISTS fetches the new envelopes. */
  async start(mailbox = 'INBOX'): Promise<void> {
    await this.client.mailboxOpen(mailbox);
    let seen = typeof this.client.mailbox === 'object' ? this.client.mailbox.exists : 0;
    this.client.on('exists', (e: { count: number }) => {
      const from = seen + 1;
      seen = e.count;
      if (e.count < from) return;
      // Out of IDLE (imapflow ends it to run the FETCH), then back into it.
      void (async () => {
        for await (const m of this.client.fetch(`${from}:${e.count}`, { envelope: true })) this.subjects.push(m.envelope?.subject ?? '');
        for (const w of this.waiters.splice(0)) w();
        void this.client.idle();
      })().catch(() => undefined);
    });
    void this.client.idle();
  }

  /** Resolves when `subject` has arrived (fails after `timeoutMs`). */
  async waitFor(subject: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.subjects.includes(subject)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`"${subject}" did not arrive (got: ${this.subjects.join(', ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** Waits until `count` (a request log's length) has not moved for `ms`: the sync is at rest. */
export async function quiet(count: () => number, ms = 600): Promise<void> {
  let last = count();
  let since = Date.now();
  while (Date.now() - since < ms) {
    await new Promise((r) => setTimeout(r, 50));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}
