// Bodies of backend messages are fetched lazily: a content row can exist (size known,
// listed to clients) before its bytes do. This wraps a MailStore so that getContent of
// such a content fetches through a BodyFetcher that the sync layer provides, and the IMAP
// layer stays unaware of backends: it sees bytes, or NO [UNAVAILABLE] when the backend is
// unreachable (invariant 6).
import { UnavailableError } from '../core/errors';
import type { HeaderContent, MailStore, MessageContent } from '../core/ports';

/** Fetches and caches one not-yet-cached body; null when no backend knows the content. */
export interface BodyFetcher {
  fetchBody(userId: string, contentId: string): Promise<Buffer | null>;
}

export function withBodyFetcher<S extends MailStore>(store: S, fetcher: BodyFetcher): S {
  const getContent = async (userId: string, contentId: string): Promise<MessageContent | null> => {
    const found = await store.getContent(userId, contentId);
    // The column is nullable for backend messages whose body is not fetched yet.
    if (!found || (found.raw as Buffer | null) !== null) return found;
    let raw: Buffer | null;
    try {
      raw = await fetcher.fetchBody(userId, contentId);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new UnavailableError('The message body cannot be fetched from the mail server right now', err);
    }
    if (!raw) throw new UnavailableError('The message body is not available');
    // The first copy stored is the content (invariant 3): a fetch racing this one (the body
    // fill) may have stored another rendering (Exchange writes MIME afresh every time).
    const stored = await store.getContent(userId, contentId);
    if (stored && (stored.raw as Buffer | null) !== null) return stored;
    return { ...found, raw };
  };
  // A header stored ahead of its body answers header-only questions; with neither, the
  // body is fetched as for getContent.
  const getHeaderContent = store.getHeaderContent
    ? async (userId: string, contentId: string): Promise<HeaderContent | null> => {
        const found = await store.getHeaderContent!(userId, contentId);
        if (!found || found.headerOnly || (found.raw as Buffer | null) !== null) return found;
        const full = await getContent(userId, contentId);
        return full ? { ...full, headerOnly: false } : null;
      }
    : undefined;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'getContent') return getContent;
      if (prop === 'getHeaderContent') return getHeaderContent;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
