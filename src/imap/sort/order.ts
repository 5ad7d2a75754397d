// Orders messages by SORT criteria (RFC 5256 3): each criterion in turn, REVERSE flipping
// only its own key, and sequence order (= UID order) when all keys are equal.
import type { MailboxMessage } from '../../core/ports';
import type { SortCriterion } from './criteria';
import type { SortFacts } from './facts';
import { compareKeys } from './collate';

const NO_FACTS: SortFacts = { subject: '', from: '', to: '', cc: '', displayFrom: '', displayTo: '', date: null };

/** The messages' UIDs in sort order; `facts` by content id (absent ones sort as empty). */
export function sortMessages(
  messages: readonly MailboxMessage[],
  criteria: readonly SortCriterion[],
  facts: ReadonlyMap<string, SortFacts>,
): number[] {
  const rows = messages.map((m) => ({ m, f: facts.get(m.contentId) ?? NO_FACTS }));
  rows.sort((a, b) => {
    for (const c of criteria) {
      const r = compareBy(c, a.m, a.f, b.m, b.f);
      if (r !== 0) return c.reverse ? -r : r;
    }
    return a.m.uid - b.m.uid;
  });
  return rows.map((r) => r.m.uid);
}

function compareBy(c: SortCriterion, am: MailboxMessage, af: SortFacts, bm: MailboxMessage, bf: SortFacts): number {
  switch (c.key) {
    case 'ARRIVAL':
      return am.internalDate.getTime() - bm.internalDate.getTime();
    case 'SIZE':
      return am.size - bm.size;
    case 'DATE':
      // RFC 5256 3: without a usable Date field, INTERNALDATE is the sent date.
      return (af.date ?? am.internalDate.getTime()) - (bf.date ?? bm.internalDate.getTime());
    case 'SUBJECT':
      return compareKeys(af.subject, bf.subject);
    case 'FROM':
      return compareKeys(af.from, bf.from);
    case 'TO':
      return compareKeys(af.to, bf.to);
    case 'CC':
      return compareKeys(af.cc, bf.cc);
    case 'DISPLAYFROM':
      return compareKeys(af.displayFrom, bf.displayFrom);
    case 'DISPLAYTO':
      return compareKeys(af.displayTo, bf.displayTo);
    default: {
      const never: never = c.key;
      return never;
    }
  }
}
