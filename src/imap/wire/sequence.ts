// Sequence sets (RFC 9051 9: sequence-set, seq-number, "*", and "$" from SEARCHRES).

export interface SeqRange {
  /** 0 stands for "*" (the largest number in use). */
  from: number;
  to: number;
}

export type SequenceSet = { kind: 'ranges'; ranges: SeqRange[] } | { kind: 'saved' };

/**
 * Expands a set against the numbers in use. `numbers` is ascending (sequence numbers 1..n
 * or the mailbox's UIDs). Returns the members that exist, ascending, without duplicates.
 * With `max` the "*" value is the largest number in use (RFC 9051 6.4.8: for UIDs a range
 * like 10:* matches the last message even when its UID is below 10).
 */
export function resolveRanges(ranges: SeqRange[], numbers: readonly number[]): number[] {
  if (numbers.length === 0) return [];
  const max = numbers[numbers.length - 1];
  const wanted: Array<[number, number]> = ranges.map((r) => {
    const a = r.from === 0 ? max : r.from;
    const b = r.to === 0 ? max : r.to;
    return a <= b ? [a, b] : [b, a];
  });
  const out: number[] = [];
  for (const n of numbers) {
    for (const [a, b] of wanted) {
      if (n >= a && n <= b) {
        out.push(n);
        break;
      }
    }
  }
  return out;
}

/** Formats ascending numbers compactly: 1:3,7,9:10. */
export function formatSequence(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j === i ? String(numbers[i]) : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
