// A thin SQL layer over TypeORM's query runner. The store writes SQL by hand because its
// core operations (UID allocation with UPDATE ... RETURNING, set-based copies, row locks
// in a fixed order) are exactly what an ORM hides.
import type { DataSource, QueryRunner } from 'typeorm';
import type { Mailbox, MailboxMessage, SpecialUse, User } from '../core/ports';

export interface Sql {
  rows<T>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

function sqlOf(runner: QueryRunner): Sql {
  return {
    async rows<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const result = await runner.query(text, [...params], true);
      return (result.records ?? []) as T[];
    },
  };
}

/** The isolation levels the store uses. */
type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ';

/** Deadlock and serialization failures: the whole transaction may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

/** Runs `work` in one transaction, retrying it a few times on deadlock. */
export async function inTransaction<T>(
  ds: DataSource,
  work: (sql: Sql) => Promise<T>,
  isolation: IsolationLevel = 'READ COMMITTED',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const runner = ds.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction(isolation);
      const result = await work(sqlOf(runner));
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (attempt >= 3 || !RETRYABLE.has(pgCode(err) ?? '')) throw err;
    } finally {
      await runner.release();
    }
  }
}

/** One statement outside any explicit transaction. */
export async function autocommit<T>(ds: DataSource, work: (sql: Sql) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  try {
    return await work(sqlOf(runner));
  } finally {
    await runner.release();
  }
}

/** The SQLSTATE of a failed query (TypeORM wraps the pg error as driverError). */
export function pgCode(err: unknown): string | undefined {
  const driverError = (err as { driverError?: { code?: unknown } } | null)?.driverError;
  const code = driverError?.code ?? (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

const MAX_BIGINT = 9223372036854775807n;

/** An id as the database can take it, or null for anything that cannot name a row. */
export function parseId(id: string): string | null {
  if (!/^[1-9][0-9]{0,18}$/.test(id) || BigInt(id) > MAX_BIGINT) return null;
  return id;
}

/** UIDs that can exist (the uid column is a 32-bit signed integer), deduplicated. */
export function validUids(uids: readonly number[]): number[] {
  return [...new Set(uids.filter((u) => Number.isInteger(u) && u >= 1 && u <= 2147483647))];
}

export interface UserRow {
  id: string;
  name: string;
  password_hash: string;
  created_at: Date;
}

export function toUser(row: UserRow): User {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

export interface MailboxRow {
  id: string;
  user_id: string;
  account_id: string;
  name: string;
  special_use: string | null;
  uid_validity: string;
  uid_next: number;
  highest_modseq: string;
  backend_id: string | null;
  no_select: boolean;
}

export const MAILBOX_COLUMNS =
  'id, user_id, account_id, name, special_use, uid_validity, uid_next, highest_modseq, backend_id, no_select';

export function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: row.id,
    userId: row.user_id,
    accountId: row.account_id,
    name: row.name,
    specialUse: row.special_use as SpecialUse | null,
    uidValidity: Number(row.uid_validity),
    uidNext: row.uid_next,
    highestModseq: Number(row.highest_modseq),
    backendId: row.backend_id,
    ...(row.no_select ? { noSelect: true } : {}),
  };
}

export interface MessageRow {
  uid: number;
  modseq: string;
  flags: string[];
  internal_date: Date;
  size: number;
  content_id: string;
}

export const MESSAGE_COLUMNS = 'uid, modseq, flags, internal_date, size, content_id';

export function toMessage(row: MessageRow): MailboxMessage {
  return {
    uid: row.uid,
    modseq: Number(row.modseq),
    flags: row.flags,
    internalDate: row.internal_date,
    size: row.size,
    contentId: row.content_id,
  };
}
