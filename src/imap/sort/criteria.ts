// SORT arguments (RFC 5256 3, RFC 5957 for DISPLAYFROM / DISPLAYTO):
//   sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
//   sort-criterion = ["REVERSE" SP] sort-key
import type { Parser } from '../wire/parser';

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';

export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

export function parseSortCriteria(p: Parser): SortCriterion[] {
  if (!p.peekChar('(')) p.fail('Expected a list of sort criteria');
  const criteria = p.list(() => {
    let reverse = false;
    let word = p.atom().toUpperCase();
    if (word === 'REVERSE') {
      reverse = true;
      p.sp();
      word = p.atom().toUpperCase();
    }
    if (!KEYS.has(word)) p.fail(`Unknown sort key ${word.slice(0, 20)}`);
    return { key: word as SortKey, reverse };
  });
  if (criteria.length === 0) p.fail('Empty list of sort criteria');
  return criteria;
}

/** Keys that need the message's header (the others come from the mailbox view). */
export function needsHeader(criteria: readonly SortCriterion[]): boolean {
  return criteria.some((c) => c.key !== 'ARRIVAL' && c.key !== 'SIZE');
}
