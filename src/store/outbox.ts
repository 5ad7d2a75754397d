// The durable submission outbox (design invariant 7). A message is a committed row before
// the client hears 250. A worker claims a due row with a lease (one short statement:
// FOR UPDATE SKIP LOCKED picks it, lease_token marks it, next_attempt_at becomes the
// lease's expiry and is pushed on by a heartbeat while the send runs), sends it with no
// database transaction open, then records the outcome (state, the next hop's reply, the
// Sent copy, the DSN into INBOX, the draft's RFC 5550 keywords) in one short transaction,
// only while it still holds the lease. A process that dies mid-send stops renewing; the
// row is due again when the lease runs out and whoever is left sends it.
//
// Exactly once, precisely (see src/submit/README.md): the one window left is between the
// next hop's 250 and the commit of the outcome transaction (milliseconds). A crash there
// sends the message again after the lease expires. So does a connection lost after the
// next hop committed the message but before its 250 reached us (RFC 1047), which no
// sender can close; the Message-ID is unchanged, so receivers can tell the copies apart.
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { StoreEvent } from '../core/events';
import type { EventBus } from '../core/ports';
import type { DeliveryOutcome, DraftRef, NewOutboxEntry, Outbox, OutboxEntry, Recipient } from '../submit/ports';
import { changeFlags } from './changes';
import { append } from './messages';
import { INBOX } from './names';
import { autocommit, inTransaction, MAILBOX_COLUMNS, type MailboxRow, type Sql } from './sql';

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
  created_at: Date;
  delay_reported: boolean;
}

export const SUBMIT_PENDING = '$SubmitPending';
export const SUBMITTED = '$Submitted';

export interface OutboxLeaseOptions {
  /** Seconds a claim lasts without renewal: how soon a dead process's message is retried. */
  leaseSeconds: number;
}

export const DEFAULT_OUTBOX_LEASE: OutboxLeaseOptions = { leaseSeconds: 60 };

const OUTBOX_COLUMNS = 'id, user_id, account_id, mail_from, recipients, dsn_ret, dsn_envid, raw, attempts, give_up_at, draft, copy_filed, created_at, delay_reported';

export class PgOutbox implements Outbox {
  /** Names this process in lease tokens (with a counter per claim). */
  private readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private claims = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
    private readonly lease: OutboxLeaseOptions = DEFAULT_OUTBOX_LEASE,
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
    const token = `${this.owner}-${++this.claims}`;
    const leaseSeconds = this.lease.leaseSeconds;
    const [row] = await autocommit(this.dataSource, (sql) =>
      sql.rows<OutboxRow>(
        `UPDATE outbox SET lease_token = $1, next_attempt_at = now() + $2 * interval '1 second', attempts = attempts + 1
          WHERE id = (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= now()
                       ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING ${OUTBOX_COLUMNS}`,
        [token, leaseSeconds],
      ),
    );
    if (!row) return false;
    // attempts counts this claim; the entry says how many came before it.
    const entry = toEntry({ ...row, attempts: row.attempts - 1 });
    const heartbeat = setInterval(() => {
      autocommit(this.dataSource, (sql) =>
        sql.rows(
          `UPDATE outbox SET next_attempt_at = now() + $3 * interval '1 second' WHERE id = $1 AND lease_token = $2 AND state = 'queued'`,
          [entry.id, token, leaseSeconds],
        ),
      ).catch(() => undefined); // a missed renewal only shortens the lease
    }, Math.max(250, (leaseSeconds * 1000) / 3));
    heartbeat.unref();
    let outcome: DeliveryOutcome;
    try {
      outcome = await deliver(entry);
    } catch (err) {
      outcome = { kind: 'retry', error: `internal error: ${(err as Error).message}`, at: new Date(Date.now() + 60_000) };
    } finally {
      clearInterval(heartbeat);
    }
    const events: StoreEvent[] = [];
    // No network inside: inTransaction may safely run this again after a deadlock.
    const held = await inTransaction(this.dataSource, async (sql) => {
      events.length = 0;
      const [lease] = await sql.rows<{ copy_filed: boolean }>(
        `SELECT copy_filed FROM outbox WHERE id = $1 AND lease_token = $2 AND state = 'queued' FOR UPDATE`,
        [entry.id, token],
      );
      if (!lease) return false;
      await record(sql, entry, lease.copy_filed, outcome, events);
      return true;
    });
    if (!held) {
      // Another process took the message over (this one stalled past its lease): it may
      // have been sent twice; its outcome is the other process's to record.
      throw new Error(`outbox message ${entry.id}: lease lost during delivery (${outcome.kind}); the outcome was not recorded`);
    }
    await this.publish(events);
    return true;
  }

  private async publish(events: StoreEvent[]): Promise<void> {
    for (const event of events) await this.bus.publish(event).catch(() => undefined);
  }
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
    queuedAt: row.created_at,
    delayReported: row.delay_reported,
    ...(row.draft ? { draft: row.draft } : {}),
  };
}

async function record(sql: Sql, entry: OutboxEntry, copyFiled: boolean, outcome: DeliveryOutcome, events: StoreEvent[]): Promise<void> {
  switch (outcome.kind) {
    case 'retry':
      await sql.rows(
        'UPDATE outbox SET lease_token = NULL, next_attempt_at = $2, last_error = $3, delay_reported = delay_reported OR $4 WHERE id = $1',
        [entry.id, outcome.at, outcome.error, !!outcome.report],
      );
      if (outcome.report && !entry.delayReported) await file(sql, entry, await findByName(sql, entry.userId, INBOX), outcome.report, [], events);
      return;
    case 'sent':
      if (outcome.remaining) {
        const { recipients, at, error } = outcome.remaining;
        await sql.rows(
          'UPDATE outbox SET lease_token = NULL, recipients = $2::jsonb, next_attempt_at = $3, last_error = $4, remote_reply = $5 WHERE id = $1',
          [entry.id, JSON.stringify(recipients), at, error, outcome.reply ?? null],
        );
      } else {
        await sql.rows(
          `UPDATE outbox SET state = 'sent', lease_token = NULL, raw = NULL, finished_at = now(), remote_reply = $2 WHERE id = $1`,
          [entry.id, outcome.reply ?? null],
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
        `UPDATE outbox SET state = 'failed', lease_token = NULL, raw = NULL, finished_at = now(), last_error = $2 WHERE id = $1`,
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
