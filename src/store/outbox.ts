// The durable submission outbox (design invariant 7). A message is a committed row before
// the client hears 250. A worker takes a due row with FOR UPDATE SKIP LOCKED and keeps the
// lock (and its transaction) open while it delivers: a second process skips the row, and
// a process that dies mid-delivery releases it with its connection, so the row is retried
// at once by whoever is left. The outcome, the Sent copy, the DSN into INBOX and the
// draft's RFC 5550 keywords are written in that same transaction.
import type { DataSource, QueryRunner } from 'typeorm';
import type { StoreEvent } from '../core/events';
import type { EventBus } from '../core/ports';
import type { DeliveryOutcome, DraftRef, NewOutboxEntry, Outbox, OutboxEntry, Recipient } from '../submit/ports';
import { changeFlags } from './changes';
import { append } from './messages';
import { INBOX } from './names';
import { inTransaction, MAILBOX_COLUMNS, type MailboxRow, type Sql } from './sql';

interface OutboxRow {
  id: string;
  user_id: string;
  account_id: string;
  mail_from: string;
  recipients: Recipient[];
  dsn_ret: 'FULL' | 'HDRS' | null;
  dsn_envid: string | null;
  raw: Buffer;
  attempts: number;
  give_up_at: Date;
  draft: DraftRef | null;
  copy_filed: boolean;
}

export const SUBMIT_PENDING = '$SubmitPending';
export const SUBMITTED = '$Submitted';

export class PgOutbox implements Outbox {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  async enqueue(entry: NewOutboxEntry): Promise<string> {
    const events: StoreEvent[] = [];
    const id = await inTransaction(this.dataSource, async (sql) => {
      events.length = 0;
      const { envelope } = entry;
      const [row] = await sql.rows<{ id: string }>(
        `INSERT INTO outbox (user_id, account_id, mail_from, recipients, dsn_ret, dsn_envid, raw, size, give_up_at, draft)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb) RETURNING id`,
        [
          entry.userId,
          entry.accountId,
          envelope.mailFrom,
          JSON.stringify(envelope.recipients),
          envelope.dsnRet ?? null,
          envelope.dsnEnvid ?? null,
          entry.raw,
          entry.raw.length,
          entry.giveUpAt,
          entry.draft ? JSON.stringify(entry.draft) : null,
        ],
      );
      if (entry.draft) await markDraft(sql, entry.userId, entry.draft, 'add', [SUBMIT_PENDING], events);
      return row.id;
    });
    await this.publish(events);
    return id;
  }

  async deliverNext(deliver: (entry: OutboxEntry) => Promise<DeliveryOutcome>): Promise<boolean> {
    // Not inTransaction: its retry on deadlock would run `deliver` (a network send) twice.
    const runner = this.dataSource.createQueryRunner();
    const events: StoreEvent[] = [];
    try {
      await runner.connect();
      await runner.startTransaction('READ COMMITTED');
      const sql = sqlOf(runner);
      const [row] = await sql.rows<OutboxRow>(
        `SELECT id, user_id, account_id, mail_from, recipients, dsn_ret, dsn_envid, raw, attempts, give_up_at, draft, copy_filed
           FROM outbox WHERE state = 'queued' AND next_attempt_at <= now()
          ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
      );
      if (!row) {
        await runner.commitTransaction();
        return false;
      }
      const entry = toEntry(row);
      const copyFiled = row.copy_filed;
      let outcome: DeliveryOutcome;
      try {
        outcome = await deliver(entry);
      } catch (err) {
        outcome = { kind: 'retry', error: `internal error: ${(err as Error).message}`, at: new Date(Date.now() + 60_000) };
      }
      await record(sql, entry, copyFiled, outcome, events);
      await runner.commitTransaction();
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
    await this.publish(events);
    return true;
  }

  private async publish(events: StoreEvent[]): Promise<void> {
    for (const event of events) await this.bus.publish(event).catch(() => undefined);
  }
}

function sqlOf(runner: QueryRunner): Sql {
  return {
    async rows<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await runner.query(text, [...params], true);
      return (result.records ?? []) as T[];
    },
  };
}

function toEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    userId: row.user_id,
    accountId: row.account_id,
    envelope: {
      mailFrom: row.mail_from,
      recipients: row.recipients,
      ...(row.dsn_ret ? { dsnRet: row.dsn_ret } : {}),
      ...(row.dsn_envid ? { dsnEnvid: row.dsn_envid } : {}),
    },
    raw: row.raw,
    giveUpAt: row.give_up_at,
    attempts: row.attempts,
    ...(row.draft ? { draft: row.draft } : {}),
  };
}

async function record(sql: Sql, entry: OutboxEntry, copyFiled: boolean, outcome: DeliveryOutcome, events: StoreEvent[]): Promise<void> {
  switch (outcome.kind) {
    case 'retry':
      await sql.rows(
        'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1',
        [entry.id, outcome.at, outcome.error],
      );
      return;
    case 'sent':
      if (outcome.remaining) {
        const { recipients, at, error } = outcome.remaining;
        await sql.rows(
          'UPDATE outbox SET attempts = attempts + 1, recipients = $2::jsonb, next_attempt_at = $3, last_error = $4 WHERE id = $1',
          [entry.id, JSON.stringify(recipients), at, error],
        );
      } else {
        await sql.rows(
          `UPDATE outbox SET state = 'sent', attempts = attempts + 1, raw = NULL, finished_at = now() WHERE id = $1`,
          [entry.id],
        );
      }
      if (outcome.sentCopy && !copyFiled) {
        await file(sql, entry, await sentMailbox(sql, entry), outcome.sentCopy, ['\\Seen'], events);
        await sql.rows('UPDATE outbox SET copy_filed = true WHERE id = $1', [entry.id]);
      }
      if (outcome.report) await file(sql, entry, await findByName(sql, entry.userId, INBOX), outcome.report, [], events);
      if (entry.draft && !outcome.remaining) {
        await markDraft(sql, entry.userId, entry.draft, 'remove', [SUBMIT_PENDING], events);
        await markDraft(sql, entry.userId, entry.draft, 'add', [SUBMITTED], events);
      }
      return;
    case 'failed':
      await sql.rows(
        `UPDATE outbox SET state = 'failed', attempts = attempts + 1, raw = NULL, finished_at = now(), last_error = $2 WHERE id = $1`,
        [entry.id, outcome.error],
      );
      if (outcome.report) await file(sql, entry, await findByName(sql, entry.userId, INBOX), outcome.report, [], events);
      if (entry.draft) await markDraft(sql, entry.userId, entry.draft, 'remove', [SUBMIT_PENDING], events);
      return;
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

async function findByName(sql: Sql, userId: string, name: string): Promise<MailboxRow | null> {
  const [row] = await sql.rows<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1 AND name = $2`, [
    userId,
    name,
  ]);
  return row ?? null;
}

/** The sending account's \Sent mailbox, else any of the user's. */
async function sentMailbox(sql: Sql, entry: OutboxEntry): Promise<MailboxRow | null> {
  const [row] = await sql.rows<MailboxRow>(
    `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1 AND special_use = '\\Sent'
      ORDER BY (account_id = $2) DESC, id LIMIT 1`,
    [entry.userId, entry.accountId],
  );
  return row ?? null;
}

async function file(
  sql: Sql,
  entry: OutboxEntry,
  mailbox: MailboxRow | null,
  raw: Buffer,
  flags: string[],
  events: StoreEvent[],
): Promise<void> {
  if (!mailbox) return; // the user deleted it: nothing to file into
  const result = await append(sql, entry.userId, mailbox.id, [{ raw, flags }]);
  events.push({ kind: 'MessageNew', userId: entry.userId, mailboxId: mailbox.id, uids: result.uids, modseq: result.modseq });
}

async function markDraft(
  sql: Sql,
  userId: string,
  draft: DraftRef,
  op: 'add' | 'remove',
  flags: string[],
  events: StoreEvent[],
): Promise<void> {
  const [mailbox] = await sql.rows<{ id: string }>('SELECT id FROM mailboxes WHERE id = $1 AND user_id = $2', [
    draft.mailboxId,
    userId,
  ]);
  if (!mailbox) return; // deleted meanwhile
  const change = await changeFlags(sql, userId, draft.mailboxId, [draft.uid], op, flags);
  if (change.updated.length > 0) {
    events.push({
      kind: op === 'add' ? 'FlagsSet' : 'FlagsClear',
      userId,
      mailboxId: draft.mailboxId,
      uids: change.updated.map((m) => m.uid),
      modseq: change.modseq,
    });
  }
}
