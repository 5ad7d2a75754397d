// Message text for header and body search keys, read from the store on demand. Parsing and
// decoding (encoded words, transfer encodings, charsets) are the MIME module's.
import { parseAddressList } from '../../mime/address';
import type { MailStore } from '../../core/ports';
import { parseMessage, type MimePart } from '../../mime/parse';
import { bodyText, headerText } from '../../mime/text';
import type { ContentLoader, MessageText } from './evaluate';
import type { SearchKey } from './parse';

/**
 * Loads the contents of one user's messages from the store, one batch at a time. With a
 * key that reads no body, a backend message whose body is not fetched yet is searched in
 * its header alone when the store has that (MailStore.getHeaderContent).
 */
export function storeContentLoader(store: MailStore, userId: string, key?: SearchKey): ContentLoader {
  const headersOnly = key !== undefined && !readsBody(key) && store.getHeaderContent !== undefined;
  return async (contentIds) => {
    const contents = await Promise.all(contentIds.map((id) => (headersOnly ? store.getHeaderContent!(userId, id) : store.getContent(userId, id))));
    const texts = new Map<string, MessageText>();
    for (const content of contents) if (content) texts.set(content.id, messageText(content.raw));
    return texts;
  };
}

/** Does the key look at a message body (BODY, TEXT)? */
export function readsBody(key: SearchKey): boolean {
  switch (key.kind) {
    case 'body':
    case 'text':
      return true;
    case 'and':
      return key.keys.some(readsBody);
    case 'or':
      return readsBody(key.left) || readsBody(key.right);
    case 'not':
      return readsBody(key.key);
    default:
      return false;
  }
}

const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'sender', 'reply-to']);

/**
 * An address field searched as written and as its parsed addresses, so comments and
 * odd spacing inside an address (`<user (c)@ (c) example.org>`) do not hide it.
 */
function withAddresses(value: string): string {
  const parsed = parseAddressList(value)
    .filter((a) => a.mailbox !== null && a.host !== null)
    .map((a) => `${a.name ?? ''} <${a.mailbox}@${a.host}>`);
  return parsed.length > 0 ? `${value}\n${parsed.join(', ')}` : value;
}

/** A raw message seen as searchable text; it is parsed once, on first use. */
export function messageText(raw: Buffer): MessageText {
  let root: MimePart | undefined;
  const parsed = (): MimePart => (root ??= parseMessage(raw));
  return {
    header: (name) => {
      const values = headerText(raw, parsed(), name);
      return ADDRESS_FIELDS.has(name.toLowerCase()) ? values.map(withAddresses) : values;
    },
    headerSection: () => {
      const part = parsed();
      const names = new Map<string, string>();
      for (const field of part.headers) if (!names.has(field.name.toLowerCase())) names.set(field.name.toLowerCase(), field.name);
      const lines: string[] = [];
      for (const name of names.values()) for (const value of headerText(raw, part, name)) lines.push(`${name}: ${value}`);
      return lines.join('\n');
    },
    body: () => bodyText(raw, parsed()),
  };
}
