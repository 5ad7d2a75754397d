// Graph emulator, message delta per folder, driven by @microsoft/microsoft-graph-client:
// paged initial round (Prefer: odata.maxpagesize), the next round's created / updated /
// @removed entries with REST and with immutable ids, changeType, $select and $filter carried
// in the tokens, a page served again on retry, and 410 syncStateNotFound.
import assert from 'node:assert/strict';
import type { Client } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { graphClient, graphError, mime } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { FolderRecord, Mailbox } from './state';

type Entry = MicrosoftGraph.Message & { '@removed'?: { reason: string } };
type DeltaPage = { value: Entry[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };

interface Round {
  entries: Entry[];
  pages: number;
  deltaLink: string;
}

async function round(client: Client, start: string, headers: Record<string, string> = {}): Promise<Round> {
  const entries: Entry[] = [];
  let pages = 0;
  let url = start;
  for (;;) {
    const page = (await client.api(url).headers(headers).get()) as DeltaPage;
    pages += 1;
    entries.push(...page.value);
    if (page['@odata.deltaLink'] !== undefined) return { entries, pages, deltaLink: page['@odata.deltaLink'] };
    assert.ok(page['@odata.nextLink'], 'a page has either a nextLink or a deltaLink');
    url = page['@odata.nextLink'];
  }
}

const removedIds = (r: Round): string[] => r.entries.filter((e) => e['@removed'] !== undefined).map((e) => e.id as string).sort();
const presentSubjects = (r: Round): string[] => r.entries.filter((e) => e['@removed'] === undefined).map((e) => e.subject as string).sort();

describe('graph emulator: message delta', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let me: Client;
  let folder: FolderRecord;
  const IMMUTABLE = { Prefer: 'IdType="ImmutableId", odata.maxpagesize=2' };
  beforeEach(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com'] });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    me = graphClient(emu, emu.auth.issueToken(alice));
    folder = emu.state.createFolder(alice, alice.rootFolderId, 'Synced');
    for (let i = 0; i < 5; i++) emu.state.deliver(alice, mime(`m${i}`), { folder: folder.id });
  });
  afterEach(async () => emu?.stop());

  it('pages the first round by odata.maxpagesize and ends it with a deltaLink', async () => {
    const first = (await me.api(`/me/mailFolders/${folder.id}/messages/delta`).header('Prefer', 'odata.maxpagesize=2').get()) as DeltaPage;
    assert.equal(first.value.length, 2);
    assert.match(first['@odata.nextLink'] as string, /^https:\/\/127\.0\.0\.1:\d+\/v1\.0\/me\/mailFolders\/.+\/messages\/delta\?\$skiptoken=/);
    const r = await round(me, `/me/mailFolders/${folder.id}/messages/delta`, { Prefer: 'odata.maxpagesize=2' });
    assert.equal(r.pages, 3);
    assert.deepEqual(presentSubjects(r), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.match(r.deltaLink, /\$deltatoken=/);
    const nothing = await round(me, r.deltaLink);
    assert.deepEqual(nothing.entries, []);
  });

  it('reports created, updated, deleted and moved-out messages with immutable ids', async () => {
    const r1 = await round(me, `/me/mailFolders/${folder.id}/messages/delta`, IMMUTABLE);
    const byId = new Map(r1.entries.map((e) => [e.id as string, e]));
    const [m0, m1, m2] = alice.inFolder(folder.id);
    assert.ok(byId.has(m0.immutableId));
    emu.state.deliver(alice, mime('new one'), { folder: folder.id });
    emu.state.update(alice, m0, (m) => (m.isRead = true));
    emu.state.remove(alice, m1);
    emu.state.move(alice, m2, alice.wellKnown('archive').id);
    emu.state.deliver(alice, mime('elsewhere')); // another folder: not reported
    const r2 = await round(me, r1.deltaLink, IMMUTABLE);
    assert.deepEqual(presentSubjects(r2), ['m0', 'new one']);
    assert.equal(r2.entries.find((e) => e.id === m0.immutableId)?.isRead, true);
    assert.deepEqual(removedIds(r2), [m1.immutableId, m2.immutableId].sort());
    for (const e of r2.entries.filter((x) => x['@removed'])) assert.deepEqual(Object.keys(e).sort(), ['@odata.type', '@removed', 'id']);

    // The moved message shows up, same id, in its new folder's delta.
    const archive = await round(me, '/me/mailFolders/archive/messages/delta', IMMUTABLE);
    assert.deepEqual(archive.entries.map((e) => e.id), [m2.immutableId]);
  });

  it('without immutable ids a move reports the old REST id removed', async () => {
    const r1 = await round(me, `/me/mailFolders/${folder.id}/messages/delta`);
    const m3 = alice.inFolder(folder.id)[3];
    const oldRest = m3.restId;
    assert.ok(r1.entries.some((e) => e.id === oldRest));
    emu.state.move(alice, m3, alice.wellKnown('archive').id);
    emu.state.move(alice, m3, folder.id); // and back: a new REST id here
    const r2 = await round(me, r1.deltaLink);
    assert.deepEqual(removedIds(r2), [oldRest]);
    assert.deepEqual(r2.entries.filter((e) => !e['@removed']).map((e) => e.id), [m3.restId]);
  });

  it('carries changeType, $select and $filter in the tokens', async () => {
    const start = `/me/mailFolders/${folder.id}/messages/delta?changeType=created&$select=subject,isRead`;
    const r1 = await round(me, start, { Prefer: 'odata.maxpagesize=3' });
    assert.equal(r1.entries.length, 5);
    assert.deepEqual(Object.keys(r1.entries[0]).sort(), ['@odata.etag', '@odata.type', 'id', 'isRead', 'subject']);
    const [m0, m1] = alice.inFolder(folder.id);
    emu.state.update(alice, m0, (m) => (m.isRead = true));
    emu.state.remove(alice, m1);
    emu.state.deliver(alice, mime('created later'), { folder: folder.id });
    const r2 = await round(me, r1.deltaLink);
    assert.deepEqual(presentSubjects(r2), ['created later']);
    assert.deepEqual(Object.keys(r2.entries[0]).sort(), ['@odata.etag', '@odata.type', 'id', 'isRead', 'subject']);

    const recent = emu.state.createFolder(alice, alice.rootFolderId, 'Recent');
    emu.state.deliver(alice, mime('old'), { folder: recent.id, receivedDateTime: new Date('2020-01-01T00:00:00Z') });
    emu.state.deliver(alice, mime('new'), { folder: recent.id, receivedDateTime: new Date('2024-06-01T00:00:00Z') });
    const filtered = await round(me, `/me/mailFolders/${recent.id}/messages/delta?$filter=receivedDateTime ge 2024-01-01T00:00:00Z`);
    assert.deepEqual(presentSubjects(filtered), ['new']);
    const bad = await graphError(me.api(`/me/mailFolders/${recent.id}/messages/delta`).filter('isRead eq false').get());
    assert.equal(bad.code, 'ErrorInvalidUrlQueryFilter');

    // $expand of single-value extended properties, carried like $select.
    const tagged = emu.state.deliver(alice, mime('tagged'), { folder: recent.id });
    tagged.extended.set('integer 0x1081', { id: 'Integer 0x1081', value: '102' });
    const expand = `singleValueExtendedProperties($filter=id eq 'Integer 0x1081')`;
    const e1 = await round(me, `/me/mailFolders/${recent.id}/messages/delta?$select=subject&$expand=${expand}`, { Prefer: 'odata.maxpagesize=1' });
    const seen = e1.entries.find((e) => e.subject === 'tagged') as { singleValueExtendedProperties?: unknown } | undefined;
    assert.deepEqual(seen?.singleValueExtendedProperties, [{ id: 'Integer 0x1081', value: '102' }]);
    emu.state.update(alice, tagged, (m) => m.extended.set('integer 0x1081', { id: 'Integer 0x1081', value: '104' }));
    const e2 = await round(me, e1.deltaLink);
    assert.deepEqual((e2.entries[0] as { singleValueExtendedProperties?: unknown }).singleValueExtendedProperties, [{ id: 'Integer 0x1081', value: '104' }]);
  });

  it('serves a page again when its nextLink is retried', async () => {
    const first = (await me.api(`/me/mailFolders/${folder.id}/messages/delta`).header('Prefer', 'odata.maxpagesize=2').get()) as DeltaPage;
    const next = first['@odata.nextLink'] as string;
    const a = (await me.api(next).header('Prefer', 'odata.maxpagesize=2').get()) as DeltaPage;
    const b = (await me.api(next).header('Prefer', 'odata.maxpagesize=2').get()) as DeltaPage;
    assert.deepEqual(b.value.map((e) => e.id), a.value.map((e) => e.id));
    assert.equal(b['@odata.nextLink'], a['@odata.nextLink']);
  });

  it('answers 410 syncStateNotFound for tokens from before a reset, and for garbage', async () => {
    const r1 = await round(me, `/me/mailFolders/${folder.id}/messages/delta`);
    emu.state.invalidateDeltaTokens(alice);
    const err = await graphError(me.api(r1.deltaLink).get());
    assert.equal(err.statusCode, 410);
    assert.equal(err.code, 'syncStateNotFound');
    const junk = await graphError(me.api(`/me/mailFolders/${folder.id}/messages/delta?$deltatoken=bm9wZQ`).get());
    assert.equal(junk.statusCode, 410);
    const otherFolder = await graphError(me.api(r1.deltaLink.replace(folder.id, alice.wellKnown('inbox').id)).get());
    assert.equal(otherFolder.statusCode, 410);
    // A fresh round works again, and keeps every message.
    const fresh = await round(me, `/me/mailFolders/${folder.id}/messages/delta`);
    assert.equal(fresh.entries.length, 5);
  });
});
