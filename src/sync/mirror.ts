// Folder mirroring for backends with folders (capabilities.mirrorFolders): the backend's
// folder list is applied to the mailboxes first (new, renamed, deleted at the backend; a
// converted local account's special-use mailboxes adopt the backend's), then what clients
// changed is written back: creations and renames before the message queue (messages may
// be going into them), deletions after it (messages may be moved out of them first).
// The agreed state lives in the store, so an interrupted write-back is simply found again.
import { AdapterError, type BackendFolder, type BackendSession } from '../../adapters/contract';
import { backendPaths, folderLeaf, type PgBackendSync } from '../store/pg-backend-sync';
import type { SyncLogger } from './runner';

export interface MirrorContext {
  accountId: string;
  store: PgBackendSync;
  session: BackendSession;
  log: SyncLogger;
}

/** Lists, pulls and pushes creations and renames; returns the backend folders now mirrored. */
export async function mirrorFolders(c: MirrorContext): Promise<BackendFolder[]> {
  const folders = await c.session.listFolders();
  const pulled = await c.store.pullFolders(c.accountId, folders);
  if (pulled.created + pulled.renamed + pulled.deleted + pulled.adopted > 0) {
    c.log.info({ accountId: c.accountId, created: pulled.created, renamed: pulled.renamed, deleted: pulled.deleted, adopted: pulled.adopted }, 'sync: folders mirrored');
  }
  const changes = await c.store.clientFolderChanges(c.accountId);
  const paths = backendPaths(folders);
  const result = [...folders];
  const parentOf = (parentName: string | null): string | null | undefined => (parentName === null ? null : changes.folderOf.get(parentName));

  for (const created of changes.creates) {
    const parentId = parentOf(created.parentName);
    if (parentId === undefined) continue; // its parent is not at the backend yet
    const done = await c.session.apply({ kind: 'createFolder', name: created.leaf, parentId });
    if (!done?.folderId) throw new AdapterError('protocol', `the backend gave no id for the new folder ${created.name}`);
    const path = parentId ? `${paths.get(parentId) ?? ''}/${folderLeaf(created.leaf)}` : folderLeaf(created.leaf);
    await c.store.bindCreatedFolder(c.accountId, created.mailboxId, done.folderId, path);
    changes.folderOf.set(created.name, done.folderId);
    paths.set(done.folderId, path);
    result.push({ id: done.folderId, name: created.leaf, parentId });
    c.log.info({ accountId: c.accountId, mailbox: created.name }, 'sync: folder created at the backend');
  }

  for (const renamed of changes.renames) {
    const oldPath = await c.store.agreedPath(c.accountId, renamed.folderId);
    if (oldPath === null) continue;
    const parentId = parentOf(renamed.parentName);
    if (parentId === undefined) continue;
    const path = parentId ? `${paths.get(parentId) ?? ''}/${folderLeaf(renamed.leaf)}` : folderLeaf(renamed.leaf);
    // An ancestor's rename already carried this one along.
    if (path === oldPath) {
      await c.store.agreeRename(c.accountId, renamed.oldName, renamed.name, oldPath, path);
      continue;
    }
    await c.session.apply({ kind: 'renameFolder', folderId: renamed.folderId, name: renamed.leaf, parentId });
    await c.store.agreeRename(c.accountId, renamed.oldName, renamed.name, oldPath, path);
    for (const [id, p] of paths) if (p === oldPath || p.startsWith(`${oldPath}/`)) paths.set(id, path + p.slice(oldPath.length));
    const f = result.find((x) => x.id === renamed.folderId);
    if (f) {
      f.name = renamed.leaf;
      f.parentId = parentId;
    }
    c.log.info({ accountId: c.accountId, from: renamed.oldName, to: renamed.name }, 'sync: folder renamed at the backend');
  }
  return result;
}

/** Mailboxes the client deleted: their folders go at the backend (after the message queue). */
export async function pushFolderDeletes(c: MirrorContext): Promise<Set<string>> {
  const changes = await c.store.clientFolderChanges(c.accountId);
  const gone = new Set<string>();
  for (const d of changes.deletes) {
    try {
      await c.session.apply({ kind: 'deleteFolder', folderId: d.folderId });
    } catch (err) {
      if (!(err instanceof AdapterError && err.kind === 'gone')) throw err;
    }
    await c.store.forgetFolder(c.accountId, d.folderId);
    gone.add(d.folderId);
    c.log.info({ accountId: c.accountId, mailbox: d.name }, 'sync: folder deleted at the backend');
  }
  return gone;
}
