// A fresh user whose INBOX already holds the given messages, put there through the store
// (no IMAP round trips), for conversation tests about reading mail.
import assert from 'node:assert/strict';
import type { AppendInput } from '../../src/core/ports';
import type { TestServer } from './server';

export async function userWithInbox(server: TestServer, messages: AppendInput[]): Promise<{ user: string; password: string }> {
  const creds = await server.addUser();
  const store = server.memgate.store;
  const user = await store.authenticate(creds.user, creds.password);
  assert.ok(user, 'the new user cannot log in');
  const inbox = await store.getMailbox(user.id, 'INBOX');
  assert.ok(inbox, 'INBOX missing');
  if (messages.length > 0) await store.appendMessages(user.id, inbox.id, messages);
  return creds;
}
