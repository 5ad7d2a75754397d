// Graph emulator, mail folders, driven by @microsoft/microsoft-graph-client: paging of the
// top level, well-known names, childFolders, create / rename / move / delete and their errors,
// hidden folders, /me versus /users/{id} authorization.
import assert from 'node:assert/strict';
import type { Client } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { graphClient, graphError } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

type Page<T> = { value: T[]; '@odata.nextLink'?: string };

async function all<T>(client: Client, path: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  for (let next: string | undefined = path; next !== undefined; pages++) {
    const page = (await client.api(next).get()) as Page<T>;
    items.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return { items, pages };
}

describe('graph emulator: mail folders', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let bob: Mailbox;
  let app: Client;
  let me: Client;
  before(async () => {
    emu = await startGraphEmulator();
    alice = emu.state.addMailbox('alice@contoso.com');
    bob = emu.state.addMailbox('bob@contoso.com');
    app = graphClient(emu, emu.auth.issueToken());
    me = graphClient(emu, emu.auth.issueToken(alice));
  });
  after(async () => emu?.stop());

  it('lists the top level ten per page with an @odata.nextLink, well-known folders first', async () => {
    for (let i = 0; i < 5; i++) await me.api('/me/mailFolders').post({ displayName: `Project ${i}` });
    const { items, pages } = await all<MicrosoftGraph.MailFolder>(me, '/me/mailFolders');
    assert.equal(items.length, 8 + 5);
    assert.equal(pages, 2);
    const names = items.map((f) => f.displayName);
    for (const n of ['Inbox', 'Drafts', 'Sent Items', 'Deleted Items', 'Junk Email', 'Archive', 'Project 4']) assert.ok(names.includes(n), n);
    const inbox = items.find((f) => f.displayName === 'Inbox') as MicrosoftGraph.MailFolder;
    assert.equal(inbox.parentFolderId, alice.wellKnown('msgfolderroot').id);
    assert.deepEqual(Object.keys(inbox).sort(), ['childFolderCount', 'displayName', 'id', 'isHidden', 'parentFolderId', 'totalItemCount', 'unreadItemCount']);
  });

  it('resolves well-known names and counts items', async () => {
    emu.state.deliver(alice, 'Subject: one\r\n\r\nx\r\n');
    emu.state.deliver(alice, 'Subject: two\r\n\r\nx\r\n', { isRead: true });
    const inbox = (await me.api('/me/mailFolders/inbox').get()) as MicrosoftGraph.MailFolder;
    assert.equal(inbox.id, alice.wellKnown('inbox').id);
    assert.equal(inbox.totalItemCount, 2);
    assert.equal(inbox.unreadItemCount, 1);
    const selected = (await me.api("/me/mailFolders('sentitems')").select('displayName').get()) as MicrosoftGraph.MailFolder;
    assert.deepEqual(Object.keys(selected).sort(), ['displayName', 'id']);
    const err = await graphError(me.api('/me/mailFolders/nosuchfolder').get());
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'ErrorItemNotFound');
  });

  it('creates, lists, renames, moves and deletes child folders', async () => {
    const parent = (await me.api('/me/mailFolders').post({ displayName: 'Clients' })) as MicrosoftGraph.MailFolder;
    const child = (await me.api(`/me/mailFolders/${parent.id}/childFolders`).post({ displayName: 'Acme' })) as MicrosoftGraph.MailFolder;
    assert.equal(child.parentFolderId, parent.id);
    const dup = await graphError(me.api(`/me/mailFolders/${parent.id}/childFolders`).post({ displayName: 'ACME' }));
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.code, 'ErrorFolderExists');
    const renamed = (await me.api(`/me/mailFolders/${child.id}`).patch({ displayName: 'Acme Corp' })) as MicrosoftGraph.MailFolder;
    assert.equal(renamed.displayName, 'Acme Corp');
    assert.equal(renamed.id, child.id);
    const kids = (await me.api(`/me/mailFolders/${parent.id}/childFolders`).get()) as Page<MicrosoftGraph.MailFolder>;
    assert.deepEqual(kids.value.map((f) => f.displayName), ['Acme Corp']);
    const parentNow = (await me.api(`/me/mailFolders/${parent.id}`).get()) as MicrosoftGraph.MailFolder;
    assert.equal(parentNow.childFolderCount, 1);

    const moved = (await me.api(`/me/mailFolders/${child.id}/move`).post({ destinationId: 'archive' })) as MicrosoftGraph.MailFolder;
    assert.equal(moved.parentFolderId, alice.wellKnown('archive').id);
    const intoSelf = await graphError(me.api(`/me/mailFolders/${parent.id}/move`).post({ destinationId: parent.id }));
    assert.equal(intoSelf.statusCode, 400);

    await me.api(`/me/mailFolders/${parent.id}`).delete();
    const inTrash = (await me.api(`/me/mailFolders/deleteditems/childFolders`).get()) as Page<MicrosoftGraph.MailFolder>;
    assert.deepEqual(inTrash.value.map((f) => f.id), [parent.id]);
    await me.api(`/me/mailFolders/${parent.id}`).delete();
    assert.equal((await graphError(me.api(`/me/mailFolders/${parent.id}`).get())).statusCode, 404);

    const wk = await graphError(me.api('/me/mailFolders/inbox').delete());
    assert.equal(wk.statusCode, 403);
    assert.equal(wk.code, 'ErrorDeleteDistinguishedFolder');
    const badPatch = await graphError(me.api('/me/mailFolders/inbox').patch({ totalItemCount: 3 }));
    assert.equal(badPatch.statusCode, 400);
    const noName = await graphError(me.api('/me/mailFolders').post({}));
    assert.equal(noName.statusCode, 400);
  });

  it('shows hidden folders only with includeHiddenFolders=true', async () => {
    await me.api('/me/mailFolders').post({ displayName: 'Secret', isHidden: true });
    const visible = await all<MicrosoftGraph.MailFolder>(me, '/me/mailFolders');
    assert.ok(!visible.items.some((f) => f.displayName === 'Secret'));
    const withHidden = await all<MicrosoftGraph.MailFolder>(me, '/me/mailFolders?includeHiddenFolders=true');
    assert.ok(withHidden.items.some((f) => f.displayName === 'Secret' && f.isHidden === true));
    const byName = (await me.api('/me/mailFolders').filter("displayName eq 'Archive'").get()) as Page<MicrosoftGraph.MailFolder>;
    assert.deepEqual(byName.value.map((f) => f.id), [alice.wellKnown('archive').id]);
  });

  it('lets an app reach any mailbox by address or id, and a user only their own', async () => {
    const byAddress = (await app.api('/users/BOB@contoso.com/mailFolders/inbox').get()) as MicrosoftGraph.MailFolder;
    assert.equal(byAddress.id, bob.wellKnown('inbox').id);
    const byId = (await app.api(`/users/${bob.id}/mailFolders/inbox`).get()) as MicrosoftGraph.MailFolder;
    assert.equal(byId.id, bob.wellKnown('inbox').id);
    const user = (await app.api(`/users/${bob.address}`).get()) as MicrosoftGraph.User;
    assert.equal(user.mail, 'bob@contoso.com');
    const appMe = await graphError(app.api('/me/mailFolders').get());
    assert.equal(appMe.statusCode, 400);
    const other = await graphError(me.api('/users/bob@contoso.com/mailFolders').get());
    assert.equal(other.statusCode, 403);
    assert.equal(other.code, 'ErrorAccessDenied');
    const nobody = await graphError(app.api('/users/nobody@contoso.com/mailFolders').get());
    assert.equal(nobody.statusCode, 404);
  });
});
