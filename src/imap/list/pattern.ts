// LIST patterns (RFC 9051 6.3.9): "*" matches any run of characters, "%" any run without
// the hierarchy delimiter. Names are UTF-8 strings here; wire encodings are undone before.
// Pure functions: no store or session imports.

export const DELIMITER = '/';

/**
 * The canonical pattern of a LIST/LSUB reference and mailbox argument. memgate has one flat
 * personal namespace without "break out" characters, so the reference is a plain prefix
 * (RFC 9051 6.3.9 leaves its interpretation to the server); a delimiter both ending the
 * reference and starting the pattern is kept once ("Work/" + "/%" is "Work/%").
 */
export function canonicalPattern(reference: string, pattern: string): string {
  if (reference.endsWith(DELIMITER) && pattern.startsWith(DELIMITER)) return reference + pattern.slice(1);
  return reference + pattern;
}

/** INBOX, and the first level of names below it, are case-insensitive (RFC 9051 5.1). */
function inboxRooted(name: string): boolean {
  return name === 'INBOX' || name.startsWith('INBOX' + DELIMITER);
}

/**
 * Does `name` match `pattern`? Runs the pattern as a small NFA over the name, so the cost is
 * O(name x pattern) whatever wildcards a client sends (no backtracking blow-up).
 * The INBOX part of a name compares case-insensitively, so "inbox", "Inb%" and "inbox/*"
 * find INBOX and its children.
 */
export function matchesPattern(pattern: string, name: string): boolean {
  const m = pattern.length;
  const foldPrefix = inboxRooted(name) ? 5 : 0;
  let states = new Uint8Array(m + 1);
  states[0] = 1;
  closeOverEmpty(pattern, states);
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    const next = new Uint8Array(m + 1);
    let alive = false;
    for (let s = 0; s < m; s++) {
      if (!states[s]) continue;
      const p = pattern[s];
      if (p === '*' || (p === '%' && ch !== DELIMITER)) {
        next[s] = 1;
        alive = true;
      } else if (p === ch || (i < foldPrefix && p.toUpperCase() === ch)) {
        next[s + 1] = 1;
        alive = true;
      }
    }
    if (!alive) return false;
    closeOverEmpty(pattern, next);
    states = next;
  }
  return states[m] === 1;
}

/** A wildcard may match nothing: its successor state is reachable too. */
function closeOverEmpty(pattern: string, states: Uint8Array): void {
  for (let s = 0; s < pattern.length; s++) {
    if (states[s] && (pattern[s] === '*' || pattern[s] === '%')) states[s + 1] = 1;
  }
}

/** The names of the hierarchy levels above `name`, outermost first ("a/b/c" gives "a", "a/b"). */
export function ancestors(name: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(DELIMITER); i > 0; i = name.indexOf(DELIMITER, i + 1)) out.push(name.slice(0, i));
  return out;
}

/** Order of LIST output: INBOX first, then level by level, so parents precede children. */
export function compareNames(a: string, b: string): number {
  const ia = inboxRooted(a);
  const ib = inboxRooted(b);
  if (ia !== ib) return ia ? -1 : 1;
  const pa = a.split(DELIMITER);
  const pb = b.split(DELIMITER);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}
