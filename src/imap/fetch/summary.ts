// What FETCH derives from a message's content, computed once per content and kept beside it
// in the store (MailStore.saveContentSummary), so that FETCH ENVELOPE / BODY / BODYSTRUCTURE
// needs no raw bytes after the first time. A small in-process LRU saves the round trip for
// contents fetched again soon. Content never changes (design invariant 3), so neither does
// its summary: the cached answer is also the one the client saw first.
import type { MailStore } from '../../core/ports';
import { parseMessage, type MimePart } from '../../mime/parse';
import { serialize, toBuffer, type WireValue } from '../wire/encode';
import { envelope } from './envelope';
import { bodyStructure } from './bodystructure';
import { previewText } from './preview';
import { Lru } from '../lru';

/**
 * Bump when the stored shape or rendering changes; older summaries are then recomputed.
 * 2: addresses and multipart bodies without spaces between items; no MIME tree stored.
 * 3: the PREVIEW text (RFC 8970) is kept too.
 */
export const SUMMARY_VERSION = 3;

/** How ENVELOPE / BODY / BODYSTRUCTURE are rendered for one session. */
export interface RenderOptions {
  /** UTF8=ACCEPT or IMAP4rev2: 8-bit UTF-8 in quoted strings. */
  utf8: boolean;
  /** IMAP4rev2: message/global is an embedded message (RFC 9051 7.5.2). */
  messageGlobal: boolean;
}

type Item = 'envelope' | 'body' | 'bodyStructure';
/** Wire bytes (as binary strings) of the three items for one rendering. */
type Rendering = Record<Item, string>;
/** Renderings other than the plain one: u = UTF-8, g = message/global, ug = both. */
type VariantKey = 'u' | 'g' | 'ug';

/**
 * The JSON stored with a content: only the wire answers, about 1 KB. Sections need the raw
 * bytes anyway, and parsing them again then is cheaper than storing the MIME tree.
 */
interface StoredSummary extends Rendering {
  v: number;
  /** PREVIEW (RFC 8970), plain text; "" for a message without text. */
  preview: string;
  /** Only the renderings that differ from the plain one (8-bit headers, message/global). */
  variants?: Partial<Record<VariantKey, Rendering>>;
}

const VARIANTS: ReadonlyArray<[VariantKey, RenderOptions]> = [
  ['u', { utf8: true, messageGlobal: false }],
  ['g', { utf8: false, messageGlobal: true }],
  ['ug', { utf8: true, messageGlobal: true }],
];

export class ContentSummary {
  constructor(
    private readonly stored: StoredSummary,
    /** Made from a header section alone: only the ENVELOPE is known. */
    private readonly envelopeOnly = false,
  ) {}

  /** ENVELOPE / BODY / BODYSTRUCTURE as wire bytes for a session's rendering options. */
  wire(item: Item, opts: RenderOptions): Buffer {
    if (this.envelopeOnly && item !== 'envelope') throw new Error(`${item} asked of a summary made from a header section alone`);
    const key: VariantKey | null = opts.utf8 ? (opts.messageGlobal ? 'ug' : 'u') : opts.messageGlobal ? 'g' : null;
    const rendering = (key && this.stored.variants?.[key]) || this.stored;
    return Buffer.from(rendering[item], 'latin1');
  }

  /** The PREVIEW text (RFC 8970). */
  get preview(): string {
    if (this.envelopeOnly) throw new Error('PREVIEW asked of a summary made from a header section alone');
    return this.stored.preview;
  }

  toJSON(): string {
    return JSON.stringify(this.stored);
  }

  /** Reads a stored summary; null when it is of another version or not one at all. */
  static fromText(text: string): ContentSummary | null {
    try {
      const s = JSON.parse(text) as Partial<StoredSummary>;
      if (s.v !== SUMMARY_VERSION) return null;
      if (typeof s.envelope !== 'string' || typeof s.body !== 'string' || typeof s.bodyStructure !== 'string') return null;
      if (typeof s.preview !== 'string') return null;
      return new ContentSummary(s as StoredSummary);
    } catch {
      return null;
    }
  }

  /** Renders what is cached from an already parsed message (and its bytes, for PREVIEW). */
  static compute(tree: MimePart, raw: Buffer): ContentSummary {
    const plain = renderAll(tree, { utf8: false, messageGlobal: false });
    const stored: StoredSummary = { v: SUMMARY_VERSION, ...plain, preview: previewText(raw, tree) };
    for (const [key, opts] of VARIANTS) {
      const r = renderAll(tree, opts);
      if (r.envelope !== plain.envelope || r.body !== plain.body || r.bodyStructure !== plain.bodyStructure) {
        (stored.variants ??= {})[key] = r;
      }
    }
    return new ContentSummary(stored);
  }
}

/**
 * The ENVELOPE of a message whose header section alone is known yet (its body is still at
 * the backend): answered, never stored, since BODY/BODYSTRUCTURE need the body. ENVELOPE
 * comes from the top-level header only, so it is the one the whole message will give.
 */
export function envelopeSummary(header: MimePart): ContentSummary {
  const plain = render(header, 'envelope', { utf8: false, messageGlobal: false });
  const utf8 = render(header, 'envelope', { utf8: true, messageGlobal: false });
  const bytes = (v: WireValue) => toBuffer(serialize(v)).toString('latin1');
  const rendering = (envelope: string): Rendering => ({ envelope, body: '', bodyStructure: '' });
  const stored: StoredSummary = { v: SUMMARY_VERSION, ...rendering(bytes(plain)), preview: '' };
  if (bytes(utf8) !== stored.envelope) stored.variants = { u: rendering(bytes(utf8)), ug: rendering(bytes(utf8)) };
  return new ContentSummary(stored, true);
}

/** The stored summary of a raw message (APPEND and anything else that has the bytes). */
export function summaryText(raw: Buffer): string {
  return ContentSummary.compute(parseMessage(raw), raw).toJSON();
}

function renderAll(tree: MimePart, opts: RenderOptions): Rendering {
  const bytes = (item: Item) => toBuffer(serialize(render(tree, item, opts))).toString('latin1');
  return { envelope: bytes('envelope'), body: bytes('body'), bodyStructure: bytes('bodyStructure') };
}

// envelope.ts / bodystructure.ts read header values and offsets from the tree only.
const NO_RAW = Buffer.alloc(0);

function render(tree: MimePart, item: Item, opts: RenderOptions): WireValue {
  if (item === 'envelope') return envelope(NO_RAW, tree, opts.utf8);
  return bodyStructure(NO_RAW, tree, item === 'bodyStructure', opts);
}

/**
 * About 1 KB an entry (so 20,000 of them are ~20 MB); one per store (ids are only unique within one database, and tests run
 * several in one process). Keyed by user too, as every store access is.
 */
const caches = new WeakMap<MailStore, Lru<ContentSummary>>();
const LRU_SIZE = 20_000;

function cacheOf(store: MailStore): Lru<ContentSummary> {
  let lru = caches.get(store);
  if (!lru) {
    lru = new Lru<ContentSummary>(LRU_SIZE);
    caches.set(store, lru);
  }
  return lru;
}

const key = (userId: string, contentId: string) => `${userId}/${contentId}`;

/** Summaries of the given contents that exist already (in memory or in the store). */
export async function loadSummaries(store: MailStore, userId: string, contentIds: readonly string[]): Promise<Map<string, ContentSummary>> {
  const recent = cacheOf(store);
  const found = new Map<string, ContentSummary>();
  const missing: string[] = [];
  for (const id of new Set(contentIds)) {
    const hit = recent.get(key(userId, id));
    if (hit) found.set(id, hit);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const texts = await store.getContentSummaries(userId, missing);
  for (const [id, text] of texts) {
    const summary = ContentSummary.fromText(text);
    if (!summary) continue;
    found.set(id, summary);
    recent.set(key(userId, id), summary);
  }
  return found;
}

/**
 * Computes a content's summary from its parsed tree and keeps it. The store write is not
 * awaited: the answer does not depend on it, and a failed write is only a lost cache.
 */
export function summarize(
  store: MailStore,
  userId: string,
  contentId: string,
  tree: MimePart,
  onSaveError: (err: unknown) => void,
  raw: Buffer,
): ContentSummary {
  const summary = ContentSummary.compute(tree, raw);
  cacheOf(store).set(key(userId, contentId), summary);
  store.saveContentSummary(userId, contentId, summary.toJSON()).catch(onSaveError);
  return summary;
}
