// The Postgres shadow store (MailStore). Each operation runs in one transaction and
// announces what it changed on the event bus only after the commit, so a session that
// reacts to an event always finds the change in the database.
import type { DataSource } from 'typeorm';
import { CannotError, NotFoundError } from '../core/errors';
import type { MailboxChange, StoreEvent } from '../core/events';
import type {
  AppendInput,
  AppendResult,
  CopyResult,
  EventBus,
  FlagOperation,
  Mailbox,
  MailboxCounts,
  MailboxDelta,
  MailboxMessage,
  HeaderContent,
  MailStore,
  MessageContent,
  SpecialUse,
  StoreFlagsResult,
  StoreMaintenance,
  UidRanges,
  User,
  ExpungedSince,
} from '../core/ports';
import { changeFlags, expunge, transfer, type Transferred } from './changes';
import { expungedSince, trimExpungeLog } from './expunge-log';
import { createMailboxTree, findMailbox, lockUser, removeMailbox, requireMailbox } from './mailboxes';
import { append, collectGarbage, content, counts, deletedMessageUids, delta, headerContent, listMessageRows, saveSummary, summaries } from './messages';
import { INBOX, normaliseMailboxName } from './names';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords';
import { renameTree } from './rename';
import { autocommit, FOREIGN_KEY_VIOLATION, inTransaction, MAILBOX_COLUMNS, parseId, pgCode, toMailbox, type MailboxRow, type Sql } from './sql';
import { subscribeName, subscribedNames, unsubscribeName } from './subscriptions';
import { allUsers, deleteUserRow, findUser, insertUser } from './users';

export class PgMailStore implements MailStore, StoreMaintenance {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  // users

  async createUser(name: string, password: string): Promise<User> {
    // Hash before the transaction: scrypt takes tens of milliseconds of CPU.
    const hash = await hashPassword(password);
    return this.tx((sql) => insertUser(sql, name, hash));
  }

  deleteUser(name: string): Promise<boolean> {
    return this.tx((sql) => deleteUserRow(sql, name));
  }

  listUsers(): Promise<User[]> {
    return this.read(allUsers);
  }

  async authenticate(name: string, password: string): Promise<User | null> {
    const row = await this.read((sql) => findUser(sql, name));
    // An unknown name costs as much as a wrong password, so timing does not reveal users.
    const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
    return row && ok ? { id: row.id, name: row.name, createdAt: row.created_at } : null;
  }

  // mailboxes

  async listMailboxes(userId: string): Promise<Mailbox[]> {
    const id = parseId(userId);
    if (!id) return [];
    const rows = await this.read((sql) =>
      sql.rows<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1 ORDER BY name`, [id]),
    );
    return rows.map(toMailbox);
  }

  async getMailbox(userId: string, name: string): Promise<Mailbox | null> {
    let canonical: string;
    try {
      canonical = normaliseMailboxName(name);
    } catch {
      return null; // a name no mailbox can have
    }
    const row = await this.read((sql) => findMailbox(sql, userId, canonical));
    return row ? toMailbox(row) : null;
  }

  async createMailbox(userId: string, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const canonical = normaliseMailboxName(name);
    const created = await this.tx(async (sql) => {
      await lockUser(sql, userId);
      return createMailboxTree(sql, userId, canonical, specialUse);
    });
    await this.publish(created.map((m) => mailboxEvent('MailboxCreate', userId, m.id, m.name)));
    return created[created.length - 1];
  }

  async deleteMailbox(userId: string, name: string): Promise<void> {
    const canonical = normaliseMailboxName(name);
    if (canonical === INBOX) throw new CannotError('INBOX cannot be deleted');
    const removed = await this.tx(async (sql) => {
      await lockUser(sql, userId);
      return removeMailbox(sql, userId, canonical);
    });
    await this.publish([mailboxEvent('MailboxDelete', userId, removed.id, canonical)]);
    await this.collect(userId, removed.contentIds);
  }

  async renameMailbox(userId: string, oldName: string, newName: string): Promise<void> {
    const from = normaliseMailboxName(oldName);
    const to = normaliseMailboxName(newName);
    const result = await this.tx((sql) => renameTree(sql, userId, from, to));
    const events: StoreEvent[] = result.created.map((m) => mailboxEvent('MailboxCreate', userId, m.id, m.name));
    for (const r of result.renamed) events.push(mailboxEvent('MailboxRename', userId, r.id, r.name, r.oldName));
    if (result.inboxMove) {
      const { inboxId, destId, moved } = result.inboxMove;
      events.push(...transferEvents(userId, inboxId, destId, moved));
    }
    await this.publish(events);
  }

  async subscribe(userId: string, name: string): Promise<void> {
    const canonical = normaliseMailboxName(name);
    const mailboxId = await this.tx((sql) => this.mapMissingUser(subscribeName(sql, userId, canonical)));
    await this.publish([mailboxEvent('MailboxSubscribe', userId, mailboxId, canonical)]);
  }

  async unsubscribe(userId: string, name: string): Promise<void> {
    const canonical = normaliseMailboxName(name);
    const mailboxId = await this.tx((sql) => unsubscribeName(sql, userId, canonical));
    await this.publish([mailboxEvent('MailboxUnSubscribe', userId, mailboxId, canonical)]);
  }

  listSubscriptions(userId: string): Promise<string[]> {
    return this.read((sql) => subscribedNames(sql, userId));
  }

  mailboxCounts(userId: string, mailboxId: string): Promise<MailboxCounts> {
    return this.tx((sql) => counts(sql, userId, mailboxId), 'REPEATABLE READ');
  }

  // messages

  listMessages(userId: string, mailboxId: string): Promise<MailboxMessage[]> {
    return this.tx((sql) => listMessageRows(sql, userId, mailboxId), 'REPEATABLE READ');
  }

  deletedUids(userId: string, mailboxId: string): Promise<number[]> {
    return this.tx((sql) => deletedMessageUids(sql, userId, mailboxId));
  }

  /**
   * \Recent claims go through this process one mailbox at a time, remembering how far they
   * reached: when thousands of IDLE sessions see the same arrival, the first claims it in the
   * database and the rest learn from memory that nothing is left (the database stays the
   * arbiter between processes; the local boundary never runs ahead of it).
   */
  private readonly recentClaims = new Map<string, { boundary: number; chain: Promise<unknown> }>();

  claimRecent(userId: string, mailboxId: string, upToUid: number): Promise<number> {
    const key = `${userId}/${mailboxId}`;
    let state = this.recentClaims.get(key);
    if (!state) {
      state = { boundary: 0, chain: Promise.resolve() };
      this.recentClaims.set(key, state);
    }
    if (state.boundary >= upToUid) return Promise.resolve(upToUid);
    const local = state;
    const result = local.chain.then(async () => {
      if (local.boundary >= upToUid) return upToUid;
      const first = await this.claimRecentInDatabase(userId, mailboxId, upToUid);
      local.boundary = Math.max(local.boundary, upToUid);
      return first;
    });
    local.chain = result.catch(() => undefined);
    return result;
  }

  private async claimRecentInDatabase(userId: string, mailboxId: string, upToUid: number): Promise<number> {
    const uid = parseId(userId);
    const id = parseId(mailboxId);
    if (!uid || !id) return upToUid;
    // One statement: the row lock makes concurrent claims take disjoint ranges.
    const rows = await this.tx((sql) =>
      sql.rows<{ first: number }>(
        `UPDATE mailboxes m SET first_recent_uid = GREATEST(m.first_recent_uid, $3)
           FROM (SELECT id, first_recent_uid FROM mailboxes WHERE id = $1 AND user_id = $2 FOR UPDATE) old
          WHERE m.id = old.id
          RETURNING old.first_recent_uid AS first`,
        [id, uid, upToUid],
      ),
    );
    return rows.length > 0 ? Math.min(Number(rows[0].first), upToUid) : upToUid;
  }

  async countRecent(userId: string, mailboxId: string): Promise<number> {
    const uid = parseId(userId);
    const id = parseId(mailboxId);
    if (!uid || !id) return 0;
    const rows = await this.tx((sql) =>
      sql.rows<{ n: string }>(
        `SELECT count(*) AS n FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id
          WHERE m.id = $1 AND m.user_id = $2 AND mm.uid >= m.first_recent_uid`,
        [id, uid],
      ),
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Identical delta reads issued in the same synchronous run share one query: a store event
   * fans out to every watching session at once, and they all ask the same question. Reads
   * issued later start their own query, so none can miss a change committed meanwhile.
   */
  private readonly sameTickDeltas = new Map<string, Promise<MailboxDelta>>();

  mailboxDelta(userId: string, mailboxId: string, sinceModseq: number, lastUid: number): Promise<MailboxDelta> {
    const key = `${userId}/${mailboxId}/${sinceModseq}/${lastUid}`;
    const shared = this.sameTickDeltas.get(key);
    if (shared) return shared;
    const pending = this.tx((sql) => delta(sql, userId, mailboxId, sinceModseq, lastUid), 'REPEATABLE READ');
    this.sameTickDeltas.set(key, pending);
    queueMicrotask(() => this.sameTickDeltas.delete(key));
    return pending;
  }

  expungedSince(userId: string, mailboxId: string, sinceModseq: number, uidRanges: UidRanges | null): Promise<ExpungedSince> {
    return this.tx(async (sql) => {
      const mailbox = await requireMailbox(sql, userId, mailboxId);
      return expungedSince(sql, mailbox.id, sinceModseq, uidRanges);
    }, 'REPEATABLE READ');
  }

  trimExpungeLog(olderThan: Date): Promise<number> {
    return this.tx((sql) => trimExpungeLog(sql, olderThan));
  }

  async appendMessages(userId: string, mailboxId: string, messages: AppendInput[]): Promise<AppendResult> {
    const result = await this.tx((sql) => append(sql, userId, mailboxId, messages));
    if (result.uids.length > 0) {
      await this.publish([{ kind: 'MessageNew', userId, mailboxId, uids: result.uids, modseq: result.modseq }]);
    }
    return { uidValidity: result.uidValidity, uids: result.uids };
  }

  async storeFlags(
    userId: string,
    mailboxId: string,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince?: number,
  ): Promise<StoreFlagsResult> {
    const result = await this.tx((sql) => changeFlags(sql, userId, mailboxId, uids, op, flags, unchangedSince));
    if (result.updated.length > 0) {
      const kind = op === 'remove' ? 'FlagsClear' : 'FlagsSet';
      await this.publish([{ kind, userId, mailboxId, uids: result.updated.map((m) => m.uid), modseq: result.modseq }]);
    }
    return { updated: result.updated, modified: result.modified };
  }

  async expungeMessages(userId: string, mailboxId: string, uids: number[]): Promise<number[]> {
    const result = await this.tx((sql) => expunge(sql, userId, mailboxId, uids));
    if (result.uids.length > 0) {
      await this.publish([{ kind: 'MessageExpunge', userId, mailboxId, uids: result.uids, modseq: result.modseq }]);
      await this.collect(userId, result.contentIds);
    }
    return result.uids;
  }

  copyMessages(userId: string, sourceId: string, uids: number[], destId: string): Promise<CopyResult> {
    return this.transferAndPublish(userId, sourceId, uids, destId, false);
  }

  moveMessages(userId: string, sourceId: string, uids: number[], destId: string): Promise<CopyResult> {
    return this.transferAndPublish(userId, sourceId, uids, destId, true);
  }

  getContent(userId: string, contentId: string): Promise<MessageContent | null> {
    return this.read((sql) => content(sql, userId, contentId));
  }

  getHeaderContent(userId: string, contentId: string): Promise<HeaderContent | null> {
    return this.read((sql) => headerContent(sql, userId, contentId));
  }

  contentDate(userId: string, contentId: string): Promise<Date | null> {
    return this.read(async (sql) => {
      if (!parseId(userId) || !parseId(contentId)) return null;
      const [row] = await sql.rows<{ internal_date: Date }>('SELECT internal_date FROM mailbox_messages WHERE content_id = $1 AND user_id = $2 LIMIT 1', [contentId, userId]);
      return row?.internal_date ?? null;
    });
  }

  getContentSummaries(userId: string, contentIds: string[]): Promise<Map<string, string>> {
    return this.read((sql) => summaries(sql, userId, contentIds));
  }

  saveContentSummary(userId: string, contentId: string, summary: string): Promise<void> {
    return this.read((sql) => saveSummary(sql, userId, contentId, summary));
  }

  // plumbing

  private async transferAndPublish(userId: string, sourceId: string, uids: number[], destId: string, move: boolean): Promise<CopyResult> {
    const moved = await this.tx((sql) => transfer(sql, userId, sourceId, uids, destId, move));
    await this.publish(transferEvents(userId, sourceId, destId, moved));
    return { uidValidity: moved.uidValidity, sourceUids: moved.sourceUids, destUids: moved.destUids };
  }

  private tx<T>(work: (sql: Sql) => Promise<T>, isolation?: 'READ COMMITTED' | 'REPEATABLE READ'): Promise<T> {
    return inTransaction(this.dataSource, work, isolation);
  }

  private read<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return autocommit(this.dataSource, work);
  }

  /** Subscribing for a user that does not exist trips the foreign key. */
  private async mapMissingUser<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY_VIOLATION) throw new NotFoundError('No such user');
      throw err;
    }
  }

  /** Events are hints: a failed publish must not turn a committed change into an error. */
  private async publish(events: StoreEvent[]): Promise<void> {
    for (const event of events) await this.bus.publish(event).catch(() => undefined);
  }

  private async collect(userId: string, contentIds: string[]): Promise<void> {
    await this.read((sql) => collectGarbage(sql, userId, contentIds)).catch(() => undefined);
  }
}

function mailboxEvent(
  kind: MailboxChange['kind'],
  userId: string,
  mailboxId: string | null,
  name: string,
  oldName?: string,
): MailboxChange {
  return oldName === undefined ? { kind, userId, mailboxId, name } : { kind, userId, mailboxId, name, oldName };
}

function transferEvents(userId: string, sourceId: string, destId: string, moved: Transferred): StoreEvent[] {
  const events: StoreEvent[] = [];
  if (moved.destUids.length > 0) {
    events.push({ kind: 'MessageNew', userId, mailboxId: destId, uids: moved.destUids, modseq: moved.destModseq });
  }
  if (moved.expunged && moved.expunged.uids.length > 0) {
    events.push({ kind: 'MessageExpunge', userId, mailboxId: sourceId, uids: moved.expunged.uids, modseq: moved.expunged.modseq });
  }
  return events;
}
