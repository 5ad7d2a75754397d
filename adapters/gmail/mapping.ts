// Gmail's model mapped onto the adapter contract: labels are folders (a message is in every
// folder of its labels, with the Gmail message id as its backend id in each), a few system
// labels are IMAP flags, and history records become typed per-folder changes.
import type { BackendFolder } from '../contract';

/** The folder of every message that is neither spam nor trash (Gmail's own IMAP "All Mail"). */
export const ALL_MAIL = 'ALL_MAIL';

/** System labels shown as folders, with their IMAP names and RFC 6154 special uses. */
const SYSTEM_FOLDERS: Record<string, { name: string; specialUse: string | null }> = {
  INBOX: { name: 'INBOX', specialUse: null },
  SENT: { name: 'Sent', specialUse: '\\Sent' },
  DRAFT: { name: 'Drafts', specialUse: '\\Drafts' },
  TRASH: { name: 'Trash', specialUse: '\\Trash' },
  SPAM: { name: 'Junk', specialUse: '\\Junk' },
  STARRED: { name: 'Starred', specialUse: '\\Flagged' },
};

export interface GmailLabel {
  id?: string | null;
  name?: string | null;
  type?: string | null;
}

export interface FolderOptions {
  /** Show CATEGORY_* labels as folders (default false). */
  showCategories?: boolean;
  /** Show IMPORTANT as a folder (default false). */
  showImportant?: boolean;
}

/** Folder id of a level of the label hierarchy that has no label of its own ("A" of "A/B"). */
export const PATH_PREFIX = 'PATH:';

/**
 * Labels that are folders, in a stable order: INBOX, the system folders, All Mail, then user
 * labels by name. Gmail spells nesting as "/" in a label's name; a folder's name here is one
 * level and its parent is the label named by the rest (or a PATH: folder marked noSelect
 * when Gmail has no label of that name: a \Noselect mailbox, as Gmail's own IMAP shows it).
 */
export function labelsToFolders(labels: readonly GmailLabel[], opts: FolderOptions = {}): BackendFolder[] {
  const system: BackendFolder[] = [];
  const user = new Map<string, string>(); // full name -> id
  for (const l of labels) {
    if (!l.id || !l.name) continue;
    const sys = SYSTEM_FOLDERS[l.id];
    if (sys) {
      system.push({ id: l.id, name: sys.name, specialUse: sys.specialUse, ...(l.id === 'INBOX' ? { inbox: true } : {}) });
      continue;
    }
    if (l.type === 'system') {
      if (l.id.startsWith('CATEGORY_') && opts.showCategories) system.push({ id: l.id, name: categoryName(l.id) });
      else if (l.id === 'IMPORTANT' && opts.showImportant) system.push({ id: l.id, name: 'Important', specialUse: '\\Important' });
      continue; // UNREAD, CHAT and the hidden ones
    }
    const name = normalLabelName(l.name);
    if (name === '' || name.toUpperCase() === 'INBOX' || user.has(name)) continue;
    user.set(name, l.id);
  }
  // Levels without a label of their own.
  for (const name of [...user.keys()]) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!user.has(prefix)) user.set(prefix, PATH_PREFIX + prefix);
    }
  }
  const order = [...Object.keys(SYSTEM_FOLDERS)];
  const rank = (id: string): number => (order.includes(id) ? order.indexOf(id) : order.length);
  system.sort((a, b) => rank(a.id) - rank(b.id) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const folders: BackendFolder[] = [...system, { id: ALL_MAIL, name: 'All Mail', specialUse: '\\All' }];
  for (const full of [...user.keys()].sort()) {
    const cut = full.lastIndexOf('/');
    const id = user.get(full)!;
    folders.push({ id, name: full.slice(cut + 1), parentId: cut < 0 ? null : user.get(full.slice(0, cut))!, ...(id.startsWith(PATH_PREFIX) ? { noSelect: true } : {}) });
  }
  return folders;
}

/** A label name with empty levels dropped ("a//b/" is "a/b"). */
export function normalLabelName(name: string): string {
  return name.split('/').filter((p) => p !== '').join('/');
}

/** The full Gmail label name of a folder id (a user label or a PATH: level), or null. */
export function labelPath(folderId: string, labels: readonly GmailLabel[]): string | null {
  if (folderId.startsWith(PATH_PREFIX)) return folderId.slice(PATH_PREFIX.length);
  const l = labels.find((x) => x.id === folderId);
  return l?.name && l.type !== 'system' ? normalLabelName(l.name) : null;
}

function categoryName(id: string): string {
  const tail = id.slice('CATEGORY_'.length).toLowerCase();
  return `Category ${tail.charAt(0).toUpperCase()}${tail.slice(1)}`;
}

/** Whether a message with these labels is in the folder. */
export function inFolder(folderId: string, labelIds: readonly string[]): boolean {
  if (folderId.startsWith(PATH_PREFIX)) return false;
  if (folderId === ALL_MAIL) return !labelIds.includes('SPAM') && !labelIds.includes('TRASH');
  return labelIds.includes(folderId);
}

/** The IMAP flags Gmail keeps, from a message's labels. */
export function flagsOf(labelIds: readonly string[]): string[] {
  const flags: string[] = [];
  if (!labelIds.includes('UNREAD')) flags.push('\\Seen');
  if (labelIds.includes('STARRED')) flags.push('\\Flagged');
  if (labelIds.includes('DRAFT')) flags.push('\\Draft');
  return flags;
}

/** Labels that carry flags: a change of these is a flag change, not only a folder change. */
export const FLAG_LABEL_IDS = ['UNREAD', 'STARRED', 'DRAFT'] as const;
const FLAG_LABELS = new Set<string>(FLAG_LABEL_IDS);

/**
 * Label changes for a flag change. \Seen and \Flagged are UNREAD and STARRED; \Draft cannot
 * be set through the API (DRAFT is not modifiable) and other keywords live in the shadow
 * store only, so neither changes anything at Gmail.
 */
export function flagChangeToLabels(add: readonly string[], remove: readonly string[]): { addLabelIds: string[]; removeLabelIds: string[] } {
  const addLabelIds = new Set<string>();
  const removeLabelIds = new Set<string>();
  const lower = (xs: readonly string[]): Set<string> => new Set(xs.map((f) => f.toLowerCase()));
  const a = lower(add);
  const r = lower(remove);
  if (a.has('\\seen')) removeLabelIds.add('UNREAD');
  if (r.has('\\seen')) addLabelIds.add('UNREAD');
  if (a.has('\\flagged')) addLabelIds.add('STARRED');
  if (r.has('\\flagged')) removeLabelIds.add('STARRED');
  for (const l of addLabelIds) removeLabelIds.delete(l);
  return { addLabelIds: [...addLabelIds], removeLabelIds: [...removeLabelIds] };
}

/** Labels a message appended to a folder gets: the folder's label and its flags. */
export function appendLabels(folderId: string, flags: readonly string[]): string[] {
  const lower = new Set(flags.map((f) => f.toLowerCase()));
  const labels = folderId === ALL_MAIL ? [] : [folderId];
  if (!lower.has('\\seen')) labels.push('UNREAD');
  if (lower.has('\\flagged') && folderId !== 'STARRED') labels.push('STARRED');
  return labels;
}

/** One history record, as users.history.list reports it (googleapis' Schema$History, reduced). */
export interface HistoryRecordIn {
  id?: string | null;
  messagesAdded?: Array<{ message?: HistoryMessage }> | null;
  messagesDeleted?: Array<{ message?: HistoryMessage }> | null;
  labelsAdded?: Array<{ message?: HistoryMessage; labelIds?: string[] | null }> | null;
  labelsRemoved?: Array<{ message?: HistoryMessage; labelIds?: string[] | null }> | null;
}

export interface HistoryMessage {
  id?: string | null;
  labelIds?: string[] | null;
}

/** What happened to one message in one folder over a stretch of history, net. */
export type PlannedChange =
  | { kind: 'created'; id: string; labelIds: string[] }
  | { kind: 'flags'; id: string; flags: string[] }
  | { kind: 'deleted'; id: string };

interface MessageTrack {
  order: number;
  deleted: boolean;
  /** Labels after the last record that named them. */
  labels: string[] | null;
  /** Some record put the message into the folder / took it out / changed a flag label. */
  entered: boolean;
  left: boolean;
  flagsTouched: boolean;
}

/**
 * The net change per message for one folder, from history records in id order. A message
 * that entered the folder is `created` (with the labels it had last; the caller fetches its
 * metadata), one that left it or was deleted is `deleted`, one that stayed and had UNREAD,
 * STARRED or DRAFT changed gets `flags`. Replaying a stretch twice yields the same plan, and
 * the sync engine applies it idempotently by Gmail message id.
 */
export function planFolderDelta(folderId: string, history: readonly HistoryRecordIn[]): PlannedChange[] {
  const tracks = new Map<string, MessageTrack>();
  const track = (id: string): MessageTrack => {
    let t = tracks.get(id);
    if (!t) {
      t = { order: tracks.size, deleted: false, labels: null, entered: false, left: false, flagsTouched: false };
      tracks.set(id, t);
    }
    return t;
  };
  /** Was the message in the folder before/after a change of `changed` labels to `after`? */
  const crossing = (after: readonly string[], changed: readonly string[], added: boolean): { entered: boolean; left: boolean } => {
    const before = added ? after.filter((l) => !changed.includes(l)) : [...after, ...changed];
    const was = inFolder(folderId, before);
    const is = inFolder(folderId, after);
    return { entered: !was && is, left: was && !is };
  };
  for (const h of history) {
    for (const a of h.messagesAdded ?? []) {
      const id = a.message?.id;
      if (!id) continue;
      const t = track(id);
      const labels = a.message?.labelIds ?? [];
      t.labels = [...labels];
      t.deleted = false;
      if (inFolder(folderId, labels)) t.entered = true;
    }
    for (const d of h.messagesDeleted ?? []) {
      const id = d.message?.id;
      if (!id) continue;
      const t = track(id);
      t.deleted = true;
      if (d.message?.labelIds) t.labels = [...d.message.labelIds];
    }
    for (const [list, added] of [
      [h.labelsAdded, true],
      [h.labelsRemoved, false],
    ] as const) {
      for (const c of list ?? []) {
        const id = c.message?.id;
        if (!id) continue;
        const t = track(id);
        const changed = c.labelIds ?? [];
        const after = c.message?.labelIds ?? (t.labels ? applyChange(t.labels, changed, added) : null);
        if (after) {
          t.labels = [...after];
          const x = crossing(after, changed, added);
          if (x.entered) t.entered = true;
          if (x.left) t.left = true;
        } else if (folderId !== ALL_MAIL && changed.includes(folderId)) {
          if (added) t.entered = true;
          else t.left = true;
        }
        if (changed.some((l) => FLAG_LABELS.has(l))) t.flagsTouched = true;
      }
    }
  }
  const out: PlannedChange[] = [];
  for (const [id, t] of [...tracks].sort((a, b) => a[1].order - b[1].order)) {
    if (t.deleted) {
      // Deleted everywhere; folders it was never seen in are spared the no-op.
      if (t.entered || t.left || !t.labels || inFolder(folderId, t.labels)) out.push({ kind: 'deleted', id });
      continue;
    }
    const nowIn = t.labels ? inFolder(folderId, t.labels) : t.entered && !t.left;
    if (nowIn && t.entered) out.push({ kind: 'created', id, labelIds: t.labels ?? [] });
    else if (!nowIn && (t.left || t.entered)) out.push({ kind: 'deleted', id });
    else if (nowIn && t.flagsTouched && t.labels) out.push({ kind: 'flags', id, flags: flagsOf(t.labels) });
  }
  return out;
}

function applyChange(labels: readonly string[], changed: readonly string[], added: boolean): string[] {
  return added ? [...new Set([...labels, ...changed])] : labels.filter((l) => !changed.includes(l));
}

/** A Pub/Sub push of Gmail's watch: `{ message: { data: base64({emailAddress, historyId}) } }`. */
export function decodePush(body: unknown): { emailAddress: string; historyId: string } | null {
  const data = (body as { message?: { data?: unknown } } | null)?.message?.data;
  if (typeof data !== 'string') return null;
  try {
    const inner = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { emailAddress?: unknown; historyId?: unknown };
    // Gmail sends historyId as a number; its documentation shows a string. Accept both.
    const historyId = typeof inner.historyId === 'number' ? String(inner.historyId) : inner.historyId;
    if (typeof inner.emailAddress !== 'string' || typeof historyId !== 'string' || !/^\d+$/.test(historyId)) return null;
    return { emailAddress: inner.emailAddress, historyId };
  } catch {
    return null;
  }
}
