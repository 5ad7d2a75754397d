// Graph <-> IMAP: settings, flags and folders.
//   \Seen <-> isRead, \Flagged <-> flag.flagStatus 'flagged', keywords <-> categories,
//   \Draft <- isDraft (read-only at Graph after creation, so reported, never written back);
//   \Answered, $Forwarded and the other $-keywords stay in the shadow store.
// Well-known folder names give RFC 6154 special-use attributes.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { AdapterError } from '../contract';

export interface GraphSettings {
  /** The mailbox (user principal name or id). */
  mailbox: string;
  tenant: string;
  clientId: string;
  /** 'app': client credentials (secret); 'device': delegated, refresh token from the device-code flow. */
  auth: 'app' | 'device';
  /** https://graph.microsoft.com (the emulator's URL in tests). */
  graphUrl: string;
  /** https://login.microsoftonline.com */
  loginUrl: string;
  /** Extra CA certificate (PEM) to trust for both URLs (a private endpoint, the emulator). */
  caPem?: string;
  /** Resource of app-only scopes; default https://graph.microsoft.com. */
  scopeResource?: string;
  pollIntervalSeconds?: number;
  /** Delta page size (Prefer: odata.maxpagesize). */
  pageSize: number;
  /** Per-mailbox limits (Outlook's: 4 concurrent, 10,000 requests per 10 minutes). */
  maxConcurrent: number;
  requestsPerWindow: number;
  windowSeconds: number;
  /** Attempts for a throttled or unavailable request before the poll gives up (backoff). */
  maxAttempts: number;
  timeoutMs: number;
}

function str(raw: Record<string, unknown>, name: string, fallback?: string): string {
  const v = raw[name];
  if (typeof v === 'string' && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw new AdapterError('unsupported', `Graph account has no ${name}`);
}

function num(raw: Record<string, unknown>, name: string, fallback: number): number {
  const v = raw[name];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
}

export function graphSettings(raw: Record<string, unknown>): GraphSettings {
  const auth = raw.auth === 'device' ? 'device' : raw.auth === 'app' || raw.auth === undefined ? 'app' : null;
  if (auth === null) throw new AdapterError('unsupported', 'Graph account auth must be app or device');
  return {
    mailbox: str(raw, 'mailbox'),
    tenant: str(raw, 'tenant'),
    clientId: str(raw, 'clientId'),
    auth,
    graphUrl: str(raw, 'graphUrl', 'https://graph.microsoft.com').replace(/\/$/, ''),
    loginUrl: str(raw, 'loginUrl', 'https://login.microsoftonline.com').replace(/\/$/, ''),
    caPem: typeof raw.caPem === 'string' ? raw.caPem : undefined,
    scopeResource: typeof raw.scopeResource === 'string' ? raw.scopeResource : undefined,
    pollIntervalSeconds: typeof raw.pollIntervalSeconds === 'number' ? raw.pollIntervalSeconds : undefined,
    pageSize: num(raw, 'pageSize', 100),
    maxConcurrent: num(raw, 'maxConcurrent', 4),
    requestsPerWindow: num(raw, 'requestsPerWindow', 10_000),
    windowSeconds: num(raw, 'windowSeconds', 600),
    maxAttempts: num(raw, 'maxAttempts', 6),
    timeoutMs: num(raw, 'timeoutMs', 60_000),
  };
}

/** Well-known folder names (v1.0 resolves them in paths) and their special use. */
export const WELL_KNOWN: ReadonlyArray<{ name: string; specialUse: string | null; inbox?: boolean }> = [
  { name: 'inbox', specialUse: null, inbox: true },
  { name: 'sentitems', specialUse: '\\Sent' },
  { name: 'drafts', specialUse: '\\Drafts' },
  { name: 'deleteditems', specialUse: '\\Trash' },
  { name: 'junkemail', specialUse: '\\Junk' },
  { name: 'archive', specialUse: '\\Archive' },
];

/** Folders that are Outlook's plumbing, not mail a client should see. */
export const HIDDEN_WELL_KNOWN = ['outbox', 'conversationhistory', 'syncissues', 'recoverableitemsdeletions', 'searchfolders', 'msgfolderroot'];

/** Flags Graph keeps: \Seen, \Flagged and plain keywords (as categories). */
export function graphOwnsFlag(flag: string): boolean {
  if (flag.startsWith('\\')) return flag === '\\Seen' || flag === '\\Flagged';
  return !flag.startsWith('$');
}

/** An IMAP keyword (atom) for a category, or null when the category cannot be one. */
export function categoryKeyword(category: string): string | null {
  return /^[\x21-\x7e]+$/.test(category) && !/[(){%*"\\\]]/.test(category) && !category.startsWith('$') ? category : null;
}

export function messageFlags(m: MicrosoftGraph.Message): string[] {
  const flags: string[] = [];
  if (m.isRead) flags.push('\\Seen');
  if (m.flag?.flagStatus === 'flagged') flags.push('\\Flagged');
  if (m.isDraft) flags.push('\\Draft');
  for (const c of m.categories ?? []) {
    const k = categoryKeyword(c);
    if (k) flags.push(k);
  }
  return flags;
}

/** The PATCH body that gives a message these owned flags (categories not keywords are kept). */
export function flagPatch(owned: readonly string[], currentCategories: readonly string[] | null): Record<string, unknown> {
  const keywords = owned.filter((f) => !f.startsWith('\\'));
  const patch: Record<string, unknown> = {
    isRead: owned.includes('\\Seen'),
    flag: { flagStatus: owned.includes('\\Flagged') ? 'flagged' : 'notFlagged' },
  };
  if (currentCategories !== null) {
    const untouchable = currentCategories.filter((c) => categoryKeyword(c) === null);
    patch.categories = [...untouchable, ...keywords];
  }
  return patch;
}

export const MESSAGE_SELECT = 'id,isRead,isDraft,flag,categories,receivedDateTime,parentFolderId';
