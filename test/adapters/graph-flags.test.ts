// \Answered and $Forwarded kept at Exchange (issue 4): written as Outlook writes them
// (PidTagLastVerbExecuted 0x1081 with its time, PidTagIconIndex 0x1080) plus memgate's own
// named property for the exact set; read back from either, so a reply made in Outlook shows
// as \Answered; other $-keywords stay in the shadow store. Through imapflow and the emulator.
import assert from 'node:assert/strict';
import { ICON_INDEX, LAST_VERB, LAST_VERB_TIME, MEMGATE_FLAGS } from '../../adapters/graph/mapping';
import { mime } from '../emulators/graph/helpers';
import type { MessageRecord } from '../emulators/graph/state';
import { eventually } from '../sync/helpers';
import { accountIdle, graphHarnessForSuite, graphUser, imap, onePoll, shadow, type GraphUser } from './graph-helpers';

const prop = (m: MessageRecord, id: string): string | undefined => m.extended.get(id.toLowerCase())?.value;

describe('Graph \\Answered and $Forwarded', function () {
  this.timeout(90000);
  const h = graphHarnessForSuite();

  const idle = (u: GraphUser): Promise<void> => accountIdle(h, u);
  const flagsOf = async (u: GraphUser, uid: number): Promise<Set<string>> => new Set((await shadow(h, u, 'INBOX')).find((r) => r.uid === uid)?.flags ?? []);

  it('client \\Answered and $Forwarded are written as Outlook writes them, both kept, removal written too', async () => {
    const u = await graphUser(h, {}, (mb) => h.emu.state.deliver(mb, mime('to answer')));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 1, 20000, 'synced');
    await idle(u);
    const msg = [...u.mailbox.messages.values()][0];
    const client = await imap(h, u);
    try {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd('1', ['\\Answered']);
      await eventually(() => prop(msg, LAST_VERB) === '102', 20000, 'last verb: reply');
      assert.equal(prop(msg, ICON_INDEX), String(0x105));
      assert.equal(prop(msg, MEMGATE_FLAGS), '\\Answered');
      assert.ok(!Number.isNaN(Date.parse(prop(msg, LAST_VERB_TIME) ?? '')), 'the time of the reply');
      await idle(u);

      await client.messageFlagsAdd('1', ['$Forwarded', '$Junk']);
      await eventually(() => prop(msg, LAST_VERB) === '104', 20000, 'last verb: forward');
      assert.equal(prop(msg, ICON_INDEX), String(0x106));
      assert.equal(prop(msg, MEMGATE_FLAGS), '\\Answered $Forwarded', 'both, which one last verb cannot say');
      assert.ok(!msg.categories.some((c) => c.startsWith('$')), 'no $-keyword became a category');
      await idle(u);
      // The echo and later polls keep all of them; $Junk lives in the shadow store only.
      await onePoll(h, u);
      assert.deepEqual(await flagsOf(u, 1), new Set(['\\Answered', '$Forwarded', '$Junk']));

      await client.messageFlagsRemove('1', ['\\Answered']);
      await eventually(() => prop(msg, MEMGATE_FLAGS) === '$Forwarded', 20000, 'removal written back');
      assert.equal(prop(msg, LAST_VERB), '104');
      await client.messageFlagsRemove('1', ['$Forwarded']);
      await eventually(() => prop(msg, MEMGATE_FLAGS) === '', 20000, 'second removal written back');
      assert.equal(prop(msg, LAST_VERB), '0');
      assert.equal(prop(msg, ICON_INDEX), '-1');
      await idle(u);
      assert.deepEqual(await flagsOf(u, 1), new Set(['$Junk']));
    } finally {
      await client.logout();
    }
  });

  it('a reply or forward made in Outlook shows as \\Answered / $Forwarded; a lost delta token keeps them', async () => {
    const u = await graphUser(h, {}, (mb) => {
      h.emu.state.deliver(mb, mime('answered in outlook'));
      h.emu.state.deliver(mb, mime('forwarded in outlook'));
    });
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 2, 20000, 'synced');
    await idle(u);
    const [first, second] = [...u.mailbox.messages.values()].sort((a, b) => a.ordinal - b.ordinal);
    const outlook = (m: MessageRecord, verb: number): void => {
      h.emu.state.update(u.mailbox, m, (r) => {
        r.extended.set(LAST_VERB.toLowerCase(), { id: LAST_VERB, value: String(verb) });
      });
    };
    outlook(first, 103); // reply all
    outlook(second, 104);
    const client = await imap(h, u);
    try {
      const box = await client.mailboxOpen('INBOX');
      assert.equal(box.exists, 2);
      await eventually(async () => (await flagsOf(u, 1)).has('\\Answered') && (await flagsOf(u, 2)).has('$Forwarded'), 20000, 'Outlook verbs seen');
      const flags = new Map<number, Set<string>>();
      for await (const m of client.fetch('1:2', { uid: true, flags: true })) flags.set(m.uid, m.flags!);
      assert.ok(flags.get(1)!.has('\\Answered') && !flags.get(1)!.has('$Forwarded'));
      assert.ok(flags.get(2)!.has('$Forwarded') && !flags.get(2)!.has('\\Answered'));
      // memgate marked it forwarded, then Outlook answered it: both.
      await client.messageFlagsAdd('2', ['\\Answered']);
      await eventually(() => prop(second, MEMGATE_FLAGS) === '\\Answered $Forwarded', 20000, 'written back');
      await idle(u);
      outlook(second, 102);
      await eventually(async () => prop(second, LAST_VERB) === '102' && (await h.server.sync.account(u.accountId))?.state === 'idle', 20000, 'Outlook replied');
      h.emu.state.invalidateDeltaTokens(u.mailbox);
      h.emu.state.deliver(u.mailbox, mime('after the loss'));
      await eventually(async () => (await shadow(h, u, 'INBOX')).length === 3, 20000, 'resynced');
      assert.ok(h.emu.requests.some((r) => r.path.endsWith('/messages/delta') && r.status === 410), 'the token really was refused');
      assert.deepEqual(await flagsOf(u, 1), new Set(['\\Answered']));
      assert.deepEqual(await flagsOf(u, 2), new Set(['\\Answered', '$Forwarded']));
    } finally {
      await client.logout();
    }
  });
});
