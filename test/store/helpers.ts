// Small helpers shared by the store tests.
import type { MailStore, Mailbox } from '../../src/core/ports';

export function rawMessage(subject: string, body = 'Hello.'): Buffer {
  return Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
}

let counter = 0;
/** A user name no other test in this database uses. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}_${process.pid}`;
}

export async function mailbox(store: MailStore, userId: string, name: string): Promise<Mailbox> {
  const m = await store.getMailbox(userId, name);
  if (!m) throw new Error(`test setup: no mailbox ${name}`);
  return m;
}

/** Polls until `check` returns true, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
