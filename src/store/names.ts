// Mailbox name rules of the store. Names are full hierarchical paths with '/' as the
// delimiter. INBOX is case-insensitive (RFC 9051 5.1), also as the first component of a
// hierarchy, and always stored as `INBOX`; every other name is compared exactly.
import { CannotError } from '../core/errors';

export const INBOX = 'INBOX';
export const DELIMITER = '/';

/** Canonical form of a mailbox name, or CannotError when the name is unusable. */
export function normaliseMailboxName(name: string): string {
  let n = name;
  // "foo/" means "foo, which will get children" (RFC 9051 6.3.4): store it as "foo".
  if (n.endsWith(DELIMITER)) n = n.slice(0, -1);
  if (n.length === 0) throw new CannotError('Mailbox name is empty');
  if (/[\u0000-\u001f\u007f]/.test(n)) throw new CannotError('Mailbox name contains control characters');
  // LIST wildcards could never be matched literally by a client again.
  if (n.includes('*') || n.includes('%')) throw new CannotError('Mailbox name contains a wildcard');
  const parts = n.split(DELIMITER);
  if (parts.some((p) => p.length === 0)) throw new CannotError('Mailbox name has an empty hierarchy level');
  if (parts[0].toUpperCase() === INBOX) parts[0] = INBOX;
  return parts.join(DELIMITER);
}

/** Ancestors of a name, outermost first: `a/b/c` gives `a`, `a/b`. */
export function parentNames(name: string): string[] {
  const parts = name.split(DELIMITER);
  const result: string[] = [];
  for (let i = 1; i < parts.length; i++) result.push(parts.slice(0, i).join(DELIMITER));
  return result;
}

/** True when `name` is `ancestor` itself or lies below it. */
export function isSelfOrDescendant(name: string, ancestor: string): boolean {
  return name === ancestor || name.startsWith(ancestor + DELIMITER);
}
