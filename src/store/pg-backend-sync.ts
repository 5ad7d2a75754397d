// The store as the sync engine sees it: accounts, leases, applying backend changes and
// announcing them on the event bus after the commit (as PgMailStore does for clients).
import type { DataSource } from 'typeorm';
import type { StoreEvent } from '../core/events';
import type { EventBus } from '../core/ports';
import {
  accountCounts,
  backendAccount,
  deleteBackendAccount,
  insertBackendAccount,
  replaceBackendAccount,
  listBackendAccounts,
  type AccountCounts,
  type BackendAccountRow,
  type NewBackendAccount,
} from './backend-accounts';
import * as sync from './backend-sync';
import { applyDelta, knownIds, type DeltaInput, type DeltaResult } from './backend-deltas';
import * as folders from './backend-folders';
import * as writeback from './backend-writeback';
import { collectGarbage } from './messages';
import { autocommit, inTransaction, type Sql } from './sql';

export type { AccountCounts, BackendAccountRow, NewBackendAccount } from './backend-accounts';
export type { BodyFingerprint, BodyMismatch, KnownMessage, QueuedOp, SnapshotInput, SnapshotResult, UncachedBody } from './backend-sync';
export { LeaseLostError, diffListing, fingerprint, sha256Hex } from './backend-sync';
export type { DeltaChange, DeltaInput, DeltaResult } from './backend-deltas';
export type { MirroredFolder, ClientFolderChanges } from './backend-folders';
export { backendPaths, folderLeaf } from './backend-folders';

export class PgBackendSync {
  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
  ) {}

  addAccount(account: NewBackendAccount): Promise<{ accountId: string; userId: string }> {
    return this.tx((sql) => insertBackendAccount(sql, account));
  }

  replaceAccount(account: Parameters<typeof replaceBackendAccount>[1]): Promise<void> {
    return this.tx((sql) => replaceBackendAccount(sql, account));
  }

  listAccounts(userName?: string): Promise<BackendAccountRow[]> {
    return this.read((sql) => listBackendAccounts(sql, userName));
  }

  account(accountId: string): Promise<BackendAccountRow | null> {
    return this.read((sql) => backendAccount(sql, accountId));
  }

  counts(accountId: string): Promise<AccountCounts> {
    return this.read((sql) => accountCounts(sql, accountId));
  }

  async removeAccount(userName: string, accountId: string): Promise<void> {
    const result = await this.tx((sql) => deleteBackendAccount(sql, userName, accountId));
    await this.publish(
      result.removed.map((r) => ({ kind: 'MessageExpunge', userId: result.userId, mailboxId: r.mailboxId, uids: r.uids, modseq: r.modseq }) as StoreEvent),
    );
    await this.read((sql) => collectGarbage(sql, result.userId, result.contentIds)).catch(() => undefined);
  }

  claimLeases(owner: string, seconds: number): Promise<string[]> {
    return this.tx((sql) => sync.claimLeases(sql, owner, seconds));
  }

  releaseLeases(owner: string): Promise<void> {
    return this.read((sql) => sync.releaseLeases(sql, owner));
  }

  setState(accountId: string, owner: string, change: Parameters<typeof sync.setSyncState>[3]): Promise<void> {
    return this.read((sql) => sync.setSyncState(sql, accountId, owner, change));
  }

  folderCursor(accountId: string, folderId: string): Promise<string | null> {
    return this.read((sql) => sync.folderCursor(sql, accountId, folderId));
  }

  knownMessages(accountId: string, folderId: string): Promise<sync.KnownMessage[]> {
    return this.read((sql) => sync.knownMessages(sql, accountId, folderId));
  }

  /** Applies a folder listing in one transaction, then announces MessageNew/MessageExpunge. */
  async applySnapshot(input: sync.SnapshotInput): Promise<sync.SnapshotResult> {
    const result = await this.tx((sql) => sync.applySnapshot(sql, input));
    const events: StoreEvent[] = [];
    if (result.expunged.uids.length > 0) {
      events.push({ kind: 'MessageExpunge', userId: result.userId, mailboxId: result.mailboxId, uids: result.expunged.uids, modseq: result.expunged.modseq });
    }
    if (result.added.uids.length > 0) {
      events.push({ kind: 'MessageNew', userId: result.userId, mailboxId: result.mailboxId, uids: result.added.uids, modseq: result.added.modseq });
    }
    if (result.flagged.uids.length > 0) {
      events.push({ kind: 'FlagsSet', userId: result.userId, mailboxId: result.mailboxId, uids: result.flagged.uids, modseq: result.flagged.modseq });
    }
    await this.publish(events);
    if (result.freedContentIds.length > 0) {
      await this.read((sql) => collectGarbage(sql, result.userId, result.freedContentIds)).catch(() => undefined);
    }
    return result;
  }

  /** Applies typed changes (and the cursors they lead to) in one transaction, then announces them. */
  async applyDelta(input: DeltaInput): Promise<DeltaResult> {
    const result = await this.tx((sql) => applyDelta(sql, input));
    await this.publish(result.events);
    if (result.freedContentIds.length > 0) {
      await this.read((sql) => collectGarbage(sql, result.userId, result.freedContentIds)).catch(() => undefined);
    }
    return result;
  }

  setSyncCapabilities(accountId: string, mirrorFolders: boolean, serverFlags: boolean): Promise<void> {
    return this.read((sql) => folders.setSyncCapabilities(sql, accountId, mirrorFolders, serverFlags));
  }

  /** Applies the backend's folder list to the account's mailboxes, then announces the changes. */
  async pullFolders(accountId: string, list: readonly folders.MirroredFolder[]): Promise<folders.PulledFolders> {
    const result = await this.tx((sql) => folders.pullFolders(sql, accountId, list));
    await this.publish(result.events);
    return result;
  }

  clientFolderChanges(accountId: string): Promise<folders.ClientFolderChanges> {
    return this.read((sql) => folders.clientFolderChanges(sql, accountId));
  }

  bindCreatedFolder(accountId: string, mailboxId: string, folderId: string, backendPath: string): Promise<void> {
    return this.tx((sql) => folders.bindCreatedFolder(sql, accountId, mailboxId, folderId, backendPath));
  }

  agreeRename(accountId: string, oldName: string, name: string, oldPath: string, path: string): Promise<void> {
    return this.tx((sql) => folders.agreeRename(sql, accountId, oldName, name, oldPath, path));
  }

  agreedPath(accountId: string, folderId: string): Promise<string | null> {
    return this.read((sql) => folders.agreedPath(sql, accountId, folderId));
  }

  knownIds(accountId: string, ids: readonly string[]): Promise<Array<{ folderId: string; id: string }>> {
    return this.read((sql) => knownIds(sql, accountId, ids));
  }

  mirroredFolderIds(accountId: string): Promise<string[]> {
    return this.read((sql) => folders.mirroredFolderIds(sql, accountId));
  }

  forgetFolder(accountId: string, folderId: string): Promise<void> {
    return this.tx((sql) => folders.forgetFolder(sql, accountId, folderId));
  }

  appendSource(accountId: string, folderId: string, placeholder: string): Promise<writeback.AppendSource | null> {
    return this.read((sql) => writeback.appendSource(sql, accountId, folderId, placeholder));
  }

  currentFlags(accountId: string, folderId: string, id: string): Promise<string[] | null> {
    return this.read((sql) => writeback.currentFlags(sql, accountId, folderId, id));
  }

  completeWithBinding(accountId: string, queueId: string, binding: { folderId: string; placeholder: string; id: string } | null): Promise<void> {
    return this.tx((sql) => writeback.completeWithBinding(sql, accountId, queueId, binding));
  }

  dropPlaceholder(accountId: string, folderId: string, placeholder: string): Promise<void> {
    return this.read((sql) => writeback.dropPlaceholder(sql, accountId, folderId, placeholder));
  }

  saveCredentials(accountId: string, credentials: Buffer): Promise<void> {
    return this.read((sql) => writeback.saveCredentials(sql, accountId, credentials));
  }

  presentIds(accountId: string): Promise<Map<string, Set<string>>> {
    return this.read((sql) => writeback.presentIds(sql, accountId));
  }

  uncachedBodies(accountId: string, limit: number): Promise<sync.UncachedBody[]> {
    return this.read((sql) => sync.uncachedBodies(sql, accountId, limit));
  }

  storeBodies(bodies: ReadonlyArray<{ contentId: string; raw: Buffer; internalDate?: Date }>): Promise<sync.BodyMismatch[]> {
    return this.tx((sql) => sync.storeBodies(sql, bodies));
  }

  storeHeaders(headers: ReadonlyArray<{ contentId: string; header: Buffer }>): Promise<void> {
    return this.read((sql) => sync.storeHeaders(sql, headers));
  }

  contentOrigin(userId: string, contentId: string): Promise<{ accountId: string; folderId: string; backendId: string } | null> {
    return this.read((sql) => sync.contentOrigin(sql, userId, contentId));
  }

  cachedBody(contentId: string): Promise<Buffer | null> {
    return this.read((sql) => sync.bodyCached(sql, contentId));
  }

  pendingOps(accountId: string, limit: number): Promise<sync.QueuedOp[]> {
    return this.read((sql) => sync.pendingOps(sql, accountId, limit));
  }

  completeOps(ids: readonly string[]): Promise<void> {
    return this.read((sql) => sync.completeOps(sql, ids));
  }

  failOp(id: string, error: string, retryInSeconds: number): Promise<void> {
    return this.read((sql) => sync.failOp(sql, id, error, retryInSeconds));
  }

  bodyNeededBeforeDelete(accountId: string, backendId: string): Promise<string | null> {
    return this.read((sql) => sync.bodyNeededBeforeDelete(sql, accountId, backendId));
  }

  private tx<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, work);
  }

  private read<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return autocommit(this.dataSource, work);
  }

  private async publish(events: StoreEvent[]): Promise<void> {
    for (const event of events) await this.bus.publish(event).catch(() => undefined);
  }
}
