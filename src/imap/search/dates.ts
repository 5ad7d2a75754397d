// Calendar days for SEARCH date keys (RFC 9051 6.4.4): INTERNALDATE is compared in the
// server's zone (memgate uses UTC), the Date header by the date as written in its own zone.
import { MONTHS } from '../wire/parser';
import { dayNumber, type DayNumber } from './parse';

const DAY_MS = 86_400_000;

/** The UTC calendar day of an instant. */
export function utcDay(date: Date): DayNumber {
  return Math.floor(date.getTime() / DAY_MS);
}

/**
 * The calendar day of an RFC 5322 date-time (3.3, with the obsolete forms of 4.3: two- and
 * three-digit years, day names, comments, full month names). Null when there is no date.
 */
export function headerDay(value: string): DayNumber | null {
  const text = value.replace(/\([^()]*\)/g, ' ');
  const m = /(?:^|[\s,])(\d{1,2})\s*[\s-]\s*([A-Za-z]{3})[A-Za-z]*\.?\s*[\s-]\s*(\d{2,4})(?=$|[\s,])/.exec(text);
  if (m) {
    const month = MONTHS.indexOf(m[2].toLowerCase());
    let year = Number(m[3]);
    // RFC 5322 4.3: 00-49 are 2000-2049, 50-99 and three digits count from 1900.
    if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
    else if (m[3].length === 3) year += 1900;
    const day = Number(m[1]);
    if (month >= 0 && day >= 1 && day <= 31) return dayNumber(year, month, day);
  }
  // Not RFC 5322 (ISO 8601 and the like): take the date part if one is recognisable.
  const iso = /(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (iso) return dayNumber(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3]));
  return null;
}
