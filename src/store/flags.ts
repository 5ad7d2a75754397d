// Flag normalisation (RFC 9051 2.3.2). System flags get their canonical spelling; keywords
// keep the spelling a client first used but are compared case-insensitively, so `$junk`
// and `$Junk` are one flag. \Recent is session state, never stored.
import type { FlagOperation } from '../core/ports';

const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];
const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** Canonical spelling, or null for a flag that is never stored (\Recent, empty). */
function canonical(flag: string): string | null {
  const lower = flag.toLowerCase();
  if (lower === '\\recent' || flag.length === 0) return null;
  return SYSTEM_BY_LOWER.get(lower) ?? flag;
}

/** Deduplicated, canonical list, in first-seen order. */
export function normaliseFlags(flags: readonly string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const f of flags) {
    const c = canonical(f);
    if (c === null || seen.has(c.toLowerCase())) continue;
    seen.add(c.toLowerCase());
    result.push(c);
  }
  return result;
}

/** The flags a message has after `op`; `current` is already normalised. */
export function applyFlagOperation(current: readonly string[], op: FlagOperation, flags: readonly string[]): string[] {
  const given = normaliseFlags(flags);
  switch (op) {
    case 'set':
      return given;
    case 'add':
      return normaliseFlags([...current, ...given]);
    case 'remove': {
      const drop = new Set(given.map((f) => f.toLowerCase()));
      return current.filter((f) => !drop.has(f.toLowerCase()));
    }
    default: {
      const never: never = op;
      throw new Error(`unknown flag operation ${String(never)}`);
    }
  }
}

/** Same set of flags, ignoring order and keyword case. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const lower = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => lower.has(f.toLowerCase()));
}
