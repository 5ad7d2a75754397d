// A subset of Gmail's search operators for messages.list / threads.list `q`
// (https://support.google.com/mail/answer/7190): in:, label:, is:, from:, to:, cc:,
// subject:, rfc822msgid:, after:, before:, older_than:, newer_than:, has:attachment,
// free words and "phrases", "-" negation. Terms are ANDed. Unknown operators are searched as
// text, as Gmail does.

import { bodyText } from '../../../src/mime/text';
import { headerValues, type StoredMessage } from './format';
import type { LabelStore } from './labels';

export interface CompiledQuery {
  matches(m: StoredMessage): boolean;
  /** The query names SPAM or TRASH (or in:anywhere), so those are not excluded by default. */
  reachesSpamTrash: boolean;
}

interface Term {
  negate: boolean;
  key: string | null;
  value: string;
}

function tokenize(q: string): Term[] {
  const terms: Term[] = [];
  const re = /(-?)(?:([a-z_0-9]+):)?(?:"([^"]*)"|(\S+))/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(q))) {
    const value = m[3] ?? m[4] ?? '';
    if (!m[2] && (value === 'AND' || value === '')) continue;
    terms.push({ negate: m[1] === '-', key: m[2]?.toLowerCase() ?? null, value });
  }
  return terms;
}

function dateBound(value: string): number | null {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const d = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  return d ? Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])) : null;
}

const UNIT_MS: Record<string, number> = { d: 86400000, m: 30 * 86400000, y: 365 * 86400000 };

export function compileQuery(q: string, labels: LabelStore, now: () => number): CompiledQuery {
  const terms = tokenize(q);
  let reachesSpamTrash = false;
  const tests = terms.map((t): ((m: StoredMessage) => boolean) => {
    const v = t.value.toLowerCase();
    const hasLabel = (id: string | undefined) => (m: StoredMessage) => id !== undefined && m.labelIds.includes(id);
    const inHeader = (name: string) => (m: StoredMessage) => headerValues(m, name).some((h) => h.toLowerCase().includes(v));
    switch (t.key) {
      case 'in':
        if (v === 'anywhere') {
          reachesSpamTrash = true;
          return () => true;
        }
        if (v === 'trash' || v === 'spam') reachesSpamTrash = true;
        return hasLabel(v === 'chats' ? 'CHAT' : v === 'drafts' ? 'DRAFT' : v.toUpperCase());
      case 'label': {
        const l = labels.get(t.value) ?? labels.byName(t.value) ?? labels.all().find((x) => x.name.toLowerCase().replace(/[/ ]/g, '-') === v);
        if (l?.id === 'TRASH' || l?.id === 'SPAM') reachesSpamTrash = true;
        return hasLabel(l?.id);
      }
      case 'is':
        if (v === 'read') return (m) => !m.labelIds.includes('UNREAD');
        return hasLabel(v.toUpperCase());
      case 'from':
      case 'to':
      case 'cc':
      case 'subject':
        return inHeader(t.key);
      case 'rfc822msgid':
        return (m) => headerValues(m, 'message-id').some((h) => h.replace(/[<>]/g, '').toLowerCase() === v.replace(/[<>]/g, ''));
      case 'after':
      case 'before': {
        const bound = dateBound(t.value);
        if (bound === null) return () => false;
        return t.key === 'after' ? (m) => m.internalDate >= bound : (m) => m.internalDate < bound;
      }
      case 'older_than':
      case 'newer_than': {
        const n = /^(\d+)([dmy])$/.exec(v);
        if (!n) return () => false;
        const bound = now() - Number(n[1]) * UNIT_MS[n[2]!]!;
        return t.key === 'newer_than' ? (m) => m.internalDate >= bound : (m) => m.internalDate < bound;
      }
      case 'has':
        if (v === 'attachment') return (m) => /content-disposition:\s*attachment/i.test(m.raw.toString('latin1'));
        return () => false;
      default: {
        const text = (t.key ? `${t.key}:` : '') + v;
        return (m) =>
          ['subject', 'from', 'to', 'cc'].some((h) => headerValues(m, h).some((x) => x.toLowerCase().includes(text))) ||
          bodyText(m.raw, m.root).toLowerCase().includes(text);
      }
    }
  });
  return {
    matches: (m) => tests.every((test, i) => test(m) !== terms[i]!.negate),
    reachesSpamTrash,
  };
}
