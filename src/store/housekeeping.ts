// Periodic store housekeeping. Every gateway process may run it: trimming is idempotent,
// so two processes trimming at once only do the same work twice.
import type { StoreMaintenance } from '../core/ports';

export interface HousekeepingLog {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Trims the expunge log to `days` shortly after start and then every hour; returns the stop function. */
export function scheduleExpungeLogTrim(store: StoreMaintenance, days: number, log: HousekeepingLog, everyMs = HOUR): () => void {
  const run = (): void => {
    store
      .trimExpungeLog(new Date(Date.now() - days * DAY))
      .then((n) => {
        if (n > 0) log.info({ trimmed: n, days }, 'expunge log trimmed');
      })
      .catch((err: unknown) => log.warn({ err }, 'trimming the expunge log failed'));
  };
  const first = setTimeout(run, 60_000);
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
