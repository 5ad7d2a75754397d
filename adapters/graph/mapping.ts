// Graph <-> IMAP: settings, flags and folders.
//   \Seen <-> isRead, \Flagged <-> flag.flagStatus 'flagged', keywords <-> categories,
//   \Draft <-> isDraft (chosen at creation: MIME create makes a draft, JSON create with
//   PR_MESSAGE_FLAGS without the unsent bit does not; read-only afterwards),
//   \Answered and $Forwarded <-> single-value extended properties (below);
//   the other $-keywords stay in the shadow store.
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

/**
 * \Answered and $Forwarded at Exchange. Outlook records what was last done to a message in
 * PidTagLastVerbExecuted (0x1081, MS-OXOMSG: 102 reply, 103 reply all, 104 forward) with
 * its time (0x1082) and shows it through PidTagIconIndex (0x1080: 0x105 replied, 0x106
 * forwarded); memgate writes them the same way, so Outlook shows a reply made on a phone
 * and an Outlook reply shows as \Answered. One last verb cannot say "answered and
 * forwarded", so the exact set is also kept in a property of memgate's own (a named
 * property in memgate's GUID namespace). Read back: the union of both.
 */
export const LAST_VERB = 'Integer 0x1081';
export const LAST_VERB_TIME = 'SystemTime 0x1082';
export const ICON_INDEX = 'Integer 0x1080';
export const MEMGATE_FLAGS = 'String {dc3ca276-7ff0-4316-b526-7ae80a972032} Name ImapFlags';
const VERB_REPLY = 102;
const VERB_REPLY_ALL = 103;
const VERB_FORWARD = 104;
const ICON_REPLIED = 0x105;
const ICON_FORWARDED = 0x106;
/** "Not set: the client picks the icon" (MS-OXOMSG PidTagIconIndex 0xFFFFFFFF). */
const ICON_DEFAULT = -1;

/** The IMAP flags kept in extended properties. */
export const VERB_FLAGS: readonly string[] = ['\\Answered', '$Forwarded'];

/** $expand for the properties that carry \Answered and $Forwarded (delta and GETs). */
export const FLAG_PROPERTIES_EXPAND = `singleValueExtendedProperties($filter=id eq '${LAST_VERB}' or id eq '${MEMGATE_FLAGS}')`;

/** Flags Graph keeps: \Seen, \Flagged, \Draft, \Answered, $Forwarded and plain keywords (as categories). */
export function graphOwnsFlag(flag: string): boolean {
  if (flag.startsWith('\\')) return flag === '\\Seen' || flag === '\\Flagged' || flag === '\\Draft' || flag === '\\Answered';
  return flag === '$Forwarded' || !flag.startsWith('$');
}

function property(m: MicrosoftGraph.Message, id: string): string | undefined {
  return m.singleValueExtendedProperties?.find((p) => p.id?.toLowerCase() === id.toLowerCase())?.value ?? undefined;
}

/** \Answered / $Forwarded from Outlook's last verb and memgate's own property. */
export function verbFlags(m: MicrosoftGraph.Message): string[] {
  const out = new Set<string>();
  const verb = Number(property(m, LAST_VERB));
  if (verb === VERB_REPLY || verb === VERB_REPLY_ALL) out.add('\\Answered');
  if (verb === VERB_FORWARD) out.add('$Forwarded');
  for (const f of (property(m, MEMGATE_FLAGS) ?? '').split(/\s+/)) if (VERB_FLAGS.includes(f)) out.add(f);
  return [...out];
}

/**
 * The extended properties that say these owned flags: the last verb is the one just added
 * (forward before reply when both are), else what remains; `now` dates a verb just added.
 */
export function verbProperties(owned: readonly string[], added: readonly string[], now: Date): MicrosoftGraph.SingleValueLegacyExtendedProperty[] {
  const kept = VERB_FLAGS.filter((f) => owned.includes(f));
  const latest = ['$Forwarded', '\\Answered'].find((f) => added.includes(f) && kept.includes(f)) ?? ['$Forwarded', '\\Answered'].find((f) => kept.includes(f));
  const props: MicrosoftGraph.SingleValueLegacyExtendedProperty[] = [
    { id: LAST_VERB, value: String(latest === '$Forwarded' ? VERB_FORWARD : latest === '\\Answered' ? VERB_REPLY : 0) },
    { id: ICON_INDEX, value: String(latest === '$Forwarded' ? ICON_FORWARDED : latest === '\\Answered' ? ICON_REPLIED : ICON_DEFAULT) },
    { id: MEMGATE_FLAGS, value: kept.join(' ') },
  ];
  if (latest !== undefined && added.includes(latest)) props.push({ id: LAST_VERB_TIME, value: now.toISOString() });
  return props;
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
  flags.push(...verbFlags(m));
  for (const c of m.categories ?? []) {
    const k = categoryKeyword(c);
    if (k) flags.push(k);
  }
  return flags;
}

/** The PATCH body that gives a message these owned flags (categories not keywords are kept). */
export function flagPatch(owned: readonly string[], currentCategories: readonly string[] | null): Record<string, unknown> {
  const keywords = owned.filter((f) => !f.startsWith('\\') && !VERB_FLAGS.includes(f));
  const patch: Record<string, unknown> = {
    isRead: owned.includes('\\Seen'),
    flag: { flagStatus: owned.includes('\\Flagged') ? 'flagged' : 'notFlagged' },
  };
  if (VERB_FLAGS.some((f) => owned.includes(f))) patch.singleValueExtendedProperties = verbProperties(owned, owned, new Date());
  if (currentCategories !== null) {
    const untouchable = currentCategories.filter((c) => categoryKeyword(c) === null);
    patch.categories = [...untouchable, ...keywords];
  }
  return patch;
}

export const MESSAGE_SELECT = 'id,isRead,isDraft,flag,categories,receivedDateTime,parentFolderId';
