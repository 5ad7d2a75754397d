// Mirrored backend folders (design "Multiple accounts"): each backend folder is a mailbox
// (the primary account's at the top level, another account's under its label), and each
// row of backend_folders remembers the folder's path at the backend and the mailbox name as
// both sides last agreed. A backend path that differs from the agreed one is a change made
// at the backend (applied here); a mailbox name that differs is a change made by a client
// (written back by the sync engine, which then records the new agreement here).
import type { MailboxChange, StoreEvent } from '../core/events';
import type { SpecialUse } from '../core/ports';
import { createMailboxRow, createParents, lockUser, removeMailbox } from './mailboxes';
import { DELIMITER, INBOX, isSelfOrDescendant, normaliseMailboxName } from './names';
import { renameTree } from './rename';
import type { Sql } from './sql';

export interface MirroredFolder {
  id: string;
  name: string;
  parentId?: string | null;
  specialUse?: string | null;
  inbox?: boolean;
  /** Holds only other folders: a \Noselect mailbox. */
  noSelect?: boolean;
}

interface MailboxInfo {
  id: string;
  name: string;
  backend_id: string | null;
  special_use: string | null;
  no_select?: boolean;
}

interface Agreed {
  folder_id: string;
  mailbox_id: string | null;
  backend_path: string;
  mailbox_name: string;
}

const SPECIAL_USES = new Set(['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive', '\\All', '\\Flagged']);

/** One level of a mailbox name from a backend folder name ('/' is the delimiter here). */
export function folderLeaf(name: string): string {
  const leaf = name.replace(/[\u0000-\u001f\u007f]/g, '').replace(/[/*%]/g, '-').trim();
  return leaf.length > 0 ? leaf : '-';
}

async function accountInfo(sql: Sql, accountId: string): Promise<{ userId: string; label: string | null }> {
  const [row] = await sql.rows<{ user_id: string; label: string | null }>('SELECT user_id, label FROM accounts WHERE id = $1', [accountId]);
  if (!row) throw new Error(`no account ${accountId}`);
  return { userId: row.user_id, label: row.label };
}

/** The mailboxes that belong to an account (without a secondary account's label container). */
async function accountMailboxes(sql: Sql, accountId: string, label: string | null): Promise<MailboxInfo[]> {
  const rows = await sql.rows<MailboxInfo>('SELECT id, name, backend_id, special_use, no_select FROM mailboxes WHERE account_id = $1 ORDER BY name', [accountId]);
  return rows.filter((m) => m.name !== label);
}

export async function setSyncCapabilities(sql: Sql, accountId: string, mirrorFolders: boolean, serverFlags: boolean): Promise<void> {
  await sql.rows('UPDATE account_sync SET mirror_folders = $2, server_flags = $3 WHERE account_id = $1 AND (mirror_folders <> $2 OR server_flags <> $3)', [
    accountId,
    mirrorFolders,
    serverFlags,
  ]);
}

/** Folder paths at the backend ('/'-joined leaves), by folder id. */
export function backendPaths(folders: readonly MirroredFolder[]): Map<string, string> {
  const byId = new Map(folders.map((f) => [f.id, f]));
  const paths = new Map<string, string>();
  const pathOf = (f: MirroredFolder, depth = 0): string => {
    const known = paths.get(f.id);
    if (known !== undefined) return known;
    const parent = f.parentId ? byId.get(f.parentId) : undefined;
    const p = parent && depth < 64 ? `${pathOf(parent, depth + 1)}${DELIMITER}${folderLeaf(f.name)}` : folderLeaf(f.name);
    paths.set(f.id, p);
    return p;
  };
  for (const f of folders) pathOf(f);
  return paths;
}

export interface PulledFolders {
  userId: string;
  events: StoreEvent[];
  created: number;
  renamed: number;
  deleted: number;
  adopted: number;
}

/**
 * Applies the backend's folder list: new folders become mailboxes (or adopt the account's
 * unbound mailbox of the same name or special use, so a converted local account's Sent
 * becomes the backend's Sent), folders renamed or moved at the backend rename their
 * mailbox, folders gone from the backend delete theirs. Client-side changes are left alone.
 */
export async function pullFolders(sql: Sql, accountId: string, folders: readonly MirroredFolder[]): Promise<PulledFolders> {
  const { userId, label } = await accountInfo(sql, accountId);
  await lockUser(sql, userId);
  await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
  const out: PulledFolders = { userId, events: [], created: 0, renamed: 0, deleted: 0, adopted: 0 };
  const event = (kind: MailboxChange['kind'], mailboxId: string | null, name: string, oldName?: string): void => {
    out.events.push(oldName === undefined ? { kind, userId, mailboxId, name } : { kind, userId, mailboxId, name, oldName });
  };
  const mailboxes = await accountMailboxes(sql, accountId, label);
  const byMailboxId = new Map(mailboxes.map((m) => [m.id, m]));
  const agreedRows = await sql.rows<Agreed>('SELECT folder_id, mailbox_id, backend_path, mailbox_name FROM backend_folders WHERE account_id = $1', [accountId]);
  const agreed = new Map(agreedRows.map((a) => [a.folder_id, a]));
  const paths = backendPaths(folders);
  const byId = new Map(folders.map((f) => [f.id, f]));
  const listed = new Set(folders.map((f) => f.id));
  const depth = (f: MirroredFolder): number => (paths.get(f.id) ?? '').split(DELIMITER).length;
  const ordered = [...folders].sort((a, b) => depth(a) - depth(b));
  /** Mailbox name of each folder handled so far. */
  const nameOf = new Map<string, string>();
  const inboxName = label === null ? INBOX : `${label}${DELIMITER}${INBOX}`;

  const renameLocal = (from: string, to: string): void => {
    for (const m of mailboxes) if (isSelfOrDescendant(m.name, from)) m.name = to + m.name.slice(from.length);
    for (const [k, v] of nameOf) if (isSelfOrDescendant(v, from)) nameOf.set(k, to + v.slice(from.length));
  };

  for (const f of ordered) {
    const path = paths.get(f.id)!;
    let expected: string;
    if (f.inbox) expected = inboxName;
    else {
      const parent = f.parentId ? byId.get(f.parentId) : undefined;
      const parentName = parent ? nameOf.get(parent.id) : label ?? undefined;
      if (parent && parentName === undefined) continue; // parent not mirrored (skipped)
      expected = parentName ? `${parentName}${DELIMITER}${folderLeaf(f.name)}` : folderLeaf(f.name);
    }
    try {
      expected = normaliseMailboxName(expected);
    } catch {
      continue;
    }
    if (!f.inbox && (expected === INBOX || expected === inboxName)) expected = `${expected}-${f.id.slice(-6)}`;
    const a = agreed.get(f.id);
    if (a) {
      const mailbox = a.mailbox_id ? byMailboxId.get(a.mailbox_id) : undefined;
      if (!mailbox) continue; // deleted by the client: written back by the engine
      if (path !== a.backend_path && mailbox.name !== expected && !f.inbox) {
        const taken = await sql.rows('SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2', [userId, expected]);
        if (taken.length === 0) {
          const renamed = await renameTree(sql, userId, mailbox.name, expected);
          for (const r of renamed.renamed) event('MailboxRename', r.id, r.name, r.oldName);
          for (const c of renamed.created) event('MailboxCreate', c.id, c.name);
          await sql.rows(
            `UPDATE backend_folders SET mailbox_name = $3 || substr(mailbox_name, length($2) + 1)
              WHERE account_id = $1 AND (mailbox_name = $2 OR left(mailbox_name, length($2) + 1) = $2 || '/')`,
            [accountId, mailbox.name, expected],
          );
          renameLocal(mailbox.name, expected);
          out.renamed++;
        }
      }
      if (path !== a.backend_path) await sql.rows('UPDATE backend_folders SET backend_path = $3 WHERE account_id = $1 AND folder_id = $2', [accountId, f.id, path]);
      nameOf.set(f.id, mailbox.name);
      continue;
    }
    if (f.noSelect) {
      // A level that is no folder: a mailbox of that name (the client's) serves as the
      // parent as it is; else a \Noselect one is made for it.
      const same = await sql.rows<{ id: string }>('SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2', [userId, expected]);
      if (same.length > 0) {
        nameOf.set(f.id, expected);
        continue;
      }
    }
    // New to us: adopt an unbound mailbox of this account, else create one.
    const special = f.specialUse && SPECIAL_USES.has(f.specialUse) ? (f.specialUse as SpecialUse) : null;
    let mailbox = f.noSelect ? undefined :
      mailboxes.find((m) => m.backend_id === f.id) ??
      (f.inbox ? mailboxes.find((m) => m.name === inboxName) : undefined) ??
      mailboxes.find((m) => m.backend_id === null && m.name === expected) ??
      (special ? mailboxes.find((m) => m.backend_id === null && m.special_use === special) : undefined) ??
      // A \Noselect level that became a folder (a Gmail label "a" made for "a/b"): the same mailbox.
      mailboxes.find((m) => m.no_select === true && m.name === expected && m.backend_id !== null && !listed.has(m.backend_id));
    if (mailbox) {
      await sql.rows('UPDATE mailboxes SET backend_id = $2, special_use = coalesce(special_use, $3) WHERE id = $1', [mailbox.id, f.id, special]);
      mailbox.backend_id = f.id;
      out.adopted++;
    } else {
      const clash = await sql.rows('SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2', [userId, expected]);
      if (clash.length > 0) continue; // a name taken by something else: left unmirrored
      for (const p of await createParents(sql, userId, expected)) event('MailboxCreate', p.id, p.name);
      const usedSpecial = special ? await sql.rows('SELECT 1 FROM mailboxes WHERE user_id = $1 AND special_use = $2', [userId, special]) : [];
      const created = await createMailboxRow(sql, userId, expected, usedSpecial.length === 0 ? special : null, 'mirrors a backend folder');
      await sql.rows('UPDATE mailboxes SET backend_id = $2, account_id = $3, no_select = $4 WHERE id = $1', [created.id, f.id, accountId, f.noSelect === true]);
      await sql.rows('INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, expected]);
      mailbox = { id: created.id, name: expected, backend_id: f.id, special_use: special };
      mailboxes.push(mailbox);
      byMailboxId.set(mailbox.id, mailbox);
      event('MailboxCreate', created.id, expected);
      out.created++;
    }
    await sql.rows(
      `INSERT INTO backend_folders (account_id, folder_id, user_id, mailbox_id, backend_path, mailbox_name) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (account_id, folder_id) DO UPDATE SET mailbox_id = EXCLUDED.mailbox_id, backend_path = EXCLUDED.backend_path, mailbox_name = EXCLUDED.mailbox_name`,
      [accountId, f.id, userId, mailbox.id, path, mailbox.name],
    );
    nameOf.set(f.id, mailbox.name);
  }

  // A mailbox made for a level before levels were \Noselect (or a level that became a folder).
  await sql.rows(
    `UPDATE mailboxes SET no_select = (backend_id = ANY($2::text[])) WHERE account_id = $1 AND backend_id IS NOT NULL AND no_select <> (backend_id = ANY($2::text[]))`,
    [accountId, folders.filter((f) => f.noSelect).map((f) => f.id)],
  );

  // Gone from the backend: their mailboxes go too (deepest first); the inbox never.
  const vanished = agreedRows.filter((a) => !listed.has(a.folder_id)).sort((a, b) => b.mailbox_name.length - a.mailbox_name.length);
  for (const a of vanished) {
    const mailbox = a.mailbox_id ? byMailboxId.get(a.mailbox_id) : undefined;
    // (A mailbox taken over by another folder above stays.)
    if (mailbox && mailbox.name !== inboxName && mailbox.backend_id === a.folder_id) {
      const removed = await removeMailbox(sql, userId, mailbox.name);
      event('MailboxDelete', removed.id, mailbox.name);
      out.deleted++;
    }
    await forgetFolder(sql, accountId, a.folder_id);
  }
  return out;
}

export async function forgetFolder(sql: Sql, accountId: string, folderId: string): Promise<void> {
  await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
  await sql.rows('DELETE FROM backend_messages WHERE account_id = $1 AND folder_id = $2', [accountId, folderId]);
  await sql.rows('DELETE FROM backend_folders WHERE account_id = $1 AND folder_id = $2', [accountId, folderId]);
}

export interface ClientFolderChanges {
  /** Mailboxes the client created (parents first): the parent's folder id, null for the top. */
  creates: Array<{ mailboxId: string; name: string; leaf: string; parentName: string | null }>;
  renames: Array<{ folderId: string; oldName: string; name: string; leaf: string; parentName: string | null }>;
  deletes: Array<{ folderId: string; name: string }>;
  /** Mailbox name -> folder id of every bound mailbox. */
  folderOf: Map<string, string>;
  label: string | null;
}

export async function clientFolderChanges(sql: Sql, accountId: string): Promise<ClientFolderChanges> {
  const { label } = await accountInfo(sql, accountId);
  const mailboxes = await accountMailboxes(sql, accountId, label);
  const agreedRows = await sql.rows<Agreed>('SELECT folder_id, mailbox_id, backend_path, mailbox_name FROM backend_folders WHERE account_id = $1', [accountId]);
  const byMailboxId = new Map(mailboxes.map((m) => [m.id, m]));
  const split = (name: string): { leaf: string; parentName: string | null } => {
    const i = name.lastIndexOf(DELIMITER);
    const parentName = i < 0 ? null : name.slice(0, i);
    return { leaf: name.slice(i + 1), parentName: parentName === label ? null : parentName };
  };
  const folderOf = new Map<string, string>();
  for (const m of mailboxes) if (m.backend_id) folderOf.set(m.name, m.backend_id);
  const depth = (n: string): number => n.split(DELIMITER).length;
  const creates = mailboxes
    .filter((m) => m.backend_id === null)
    .sort((a, b) => depth(a.name) - depth(b.name))
    .map((m) => ({ mailboxId: m.id, name: m.name, ...split(m.name) }));
  const renames: ClientFolderChanges['renames'] = [];
  const deletes: ClientFolderChanges['deletes'] = [];
  for (const a of agreedRows.sort((x, y) => depth(x.mailbox_name) - depth(y.mailbox_name))) {
    const mailbox = a.mailbox_id ? byMailboxId.get(a.mailbox_id) : undefined;
    if (!mailbox) deletes.push({ folderId: a.folder_id, name: a.mailbox_name });
    else if (mailbox.name !== a.mailbox_name) renames.push({ folderId: a.folder_id, oldName: a.mailbox_name, name: mailbox.name, ...split(mailbox.name) });
  }
  deletes.sort((x, y) => depth(y.name) - depth(x.name));
  return { creates, renames, deletes, folderOf, label };
}

/** A mailbox the client created now exists at the backend: bind it, rewrite placeholders. */
export async function bindCreatedFolder(sql: Sql, accountId: string, mailboxId: string, folderId: string, backendPath: string): Promise<void> {
  const [m] = await sql.rows<{ name: string; user_id: string }>('UPDATE mailboxes SET backend_id = $2 WHERE id = $1 AND account_id = $3 RETURNING name, user_id', [
    mailboxId,
    folderId,
    accountId,
  ]);
  if (!m) return;
  await sql.rows(
    `INSERT INTO backend_folders (account_id, folder_id, user_id, mailbox_id, backend_path, mailbox_name) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (account_id, folder_id) DO UPDATE SET mailbox_id = EXCLUDED.mailbox_id, backend_path = EXCLUDED.backend_path, mailbox_name = EXCLUDED.mailbox_name`,
    [accountId, folderId, m.user_id, mailboxId, backendPath, m.name],
  );
  const placeholder = `mailbox:${mailboxId}`;
  await sql.rows('UPDATE backend_messages SET folder_id = $3 WHERE account_id = $1 AND folder_id = $2', [accountId, placeholder, folderId]);
  for (const field of ['folderId', 'fromFolderId', 'toFolderId']) {
    await sql.rows(`UPDATE writeback_queue SET op = jsonb_set(op, ARRAY[$3::text], to_jsonb($4::text)) WHERE account_id = $1 AND op->>$3 = $2`, [
      accountId,
      placeholder,
      field,
      folderId,
    ]);
  }
}

/** A client rename is done at the backend: the subtree's agreed names and paths follow. */
export async function agreeRename(sql: Sql, accountId: string, oldName: string, name: string, oldPath: string, path: string): Promise<void> {
  await sql.rows(
    `UPDATE backend_folders SET mailbox_name = $3 || substr(mailbox_name, length($2) + 1)
      WHERE account_id = $1 AND (mailbox_name = $2 OR left(mailbox_name, length($2) + 1) = $2 || '/')`,
    [accountId, oldName, name],
  );
  await sql.rows(
    `UPDATE backend_folders SET backend_path = $3 || substr(backend_path, length($2) + 1)
      WHERE account_id = $1 AND (backend_path = $2 OR left(backend_path, length($2) + 1) = $2 || '/')`,
    [accountId, oldPath, path],
  );
}

export async function agreedPath(sql: Sql, accountId: string, folderId: string): Promise<string | null> {
  const [row] = await sql.rows<{ backend_path: string }>('SELECT backend_path FROM backend_folders WHERE account_id = $1 AND folder_id = $2', [accountId, folderId]);
  return row?.backend_path ?? null;
}

/** Backend folder ids that have a mailbox now (the folders whose changes can be applied). */
export async function mirroredFolderIds(sql: Sql, accountId: string): Promise<string[]> {
  const rows = await sql.rows<{ backend_id: string }>('SELECT backend_id FROM mailboxes WHERE account_id = $1 AND backend_id IS NOT NULL ORDER BY id', [accountId]);
  return rows.map((r) => r.backend_id);
}
