// What FETCH derives from a message's content, computed once per content and kept beside it
// in the store (MailStore.saveContentSummary), so that FETCH ENVELOPE / BODY / BODYSTRUCTURE
// needs no raw bytes after the first time. A small in-process LRU saves the round trip for
// contents fetched again soon. Content never changes (design invariant 3), so neither does
// its summary: the cached answer is also the one the client saw first.
import type { MailStore } from '../../core/ports';
import { fromJSON, parseMessage, toJSON, type MimePart } from '../../mime/parse';
import { serialize, toBuffer, type WireValue } from '../wire/encode';
import { envelope } from './envelope';
import { bodyStructure } from './bodystructure';

/** Bump when the stored shape changes; older summaries are then recomputed. */
export const SUMMARY_VERSION = 1;

/** How ENVELOPE / BODY / BODYSTRUCTURE are rendered for one session. */
export interface RenderOptions {
  /** UTF8=ACCEPT or IMAP4rev2: 8-bit UTF-8 in quoted strings. */
  utf8: boolean;
  /** IMAP4rev2: message/global is an embedded message (RFC 9051 7.5.2). */
  messageGlobal: boolean;
}

/** The JSON stored with a content. */
interface StoredSummary {
  v: number;
  /** The MIME tree (parse.ts toJSON), kept as text so it is parsed only when needed. */
  tree: string;
  /** Wire bytes (as binary strings) for the plain rendering: no UTF8, no IMAP4rev2. */
  envelope: string;
  body: string;
  bodyStructure: string;
}

export class ContentSummary {
  private parsedTree: MimePart | null = null;

  constructor(private readonly stored: StoredSummary, tree?: MimePart) {
    this.parsedTree = tree ?? null;
  }

  get tree(): MimePart {
    this.parsedTree ??= fromJSON(this.stored.tree);
    return this.parsedTree;
  }

  /** ENVELOPE / BODY / BODYSTRUCTURE as wire bytes for a session's rendering options. */
  wire(item: 'envelope' | 'body' | 'bodyStructure', opts: RenderOptions): Buffer {
    if (!opts.utf8 && !opts.messageGlobal) return Buffer.from(this.stored[item], 'latin1');
    return toBuffer(serialize(render(this.tree, item, opts)));
  }

  toJSON(): string {
    return JSON.stringify(this.stored);
  }

  /** Reads a stored summary; null when it is of another version or not one at all. */
  static fromText(text: string): ContentSummary | null {
    try {
      const s = JSON.parse(text) as Partial<StoredSummary>;
      if (s.v !== SUMMARY_VERSION || typeof s.tree !== 'string') return null;
      if (typeof s.envelope !== 'string' || typeof s.body !== 'string' || typeof s.bodyStructure !== 'string') return null;
      return new ContentSummary(s as StoredSummary);
    } catch {
      return null;
    }
  }

  /** Parses a raw message and renders what is cached. */
  static compute(raw: Buffer): ContentSummary {
    const tree = parseMessage(raw);
    const plain: RenderOptions = { utf8: false, messageGlobal: false };
    const bytes = (item: 'envelope' | 'body' | 'bodyStructure') => toBuffer(serialize(render(tree, item, plain))).toString('latin1');
    const stored: StoredSummary = {
      v: SUMMARY_VERSION,
      tree: toJSON(tree),
      envelope: bytes('envelope'),
      body: bytes('body'),
      bodyStructure: bytes('bodyStructure'),
    };
    return new ContentSummary(stored, tree);
  }
}

// envelope.ts / bodystructure.ts read header values and offsets from the tree only.
const NO_RAW = Buffer.alloc(0);

function render(tree: MimePart, item: 'envelope' | 'body' | 'bodyStructure', opts: RenderOptions): WireValue {
  if (item === 'envelope') return envelope(NO_RAW, tree, opts.utf8);
  return bodyStructure(NO_RAW, tree, item === 'bodyStructure', opts);
}

/** A bounded map in insertion order; a hit moves the entry to the young end. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

/**
 * A few KB an entry; one per store (ids are only unique within one database, and tests run
 * several in one process). Keyed by user too, as every store access is.
 */
const caches = new WeakMap<MailStore, Lru<ContentSummary>>();
const LRU_SIZE = 1000;

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

/** Computes a content's summary from its bytes and keeps it (store write failures are only a lost cache). */
export async function summarize(
  store: MailStore,
  userId: string,
  contentId: string,
  raw: Buffer,
  onSaveError: (err: unknown) => void,
): Promise<ContentSummary> {
  const summary = ContentSummary.compute(raw);
  cacheOf(store).set(key(userId, contentId), summary);
  try {
    await store.saveContentSummary(userId, contentId, summary.toJSON());
  } catch (err) {
    onSaveError(err);
  }
  return summary;
}
