// Inactivity limits through the real listener (the shared wheel of src/imap/inactivity.ts):
// a silent connection is told BYE and closed; one that keeps talking stays.
import assert from 'node:assert/strict';
import { startImapServer, type ListeningImap } from '../../src/imap/server';
import { DEFAULT_LIMITS, type ImapContext } from '../../src/imap/context';
import { InProcessEventBus } from '../../src/store/event-bus';
import type { MailStore } from '../../src/core/ports';
import { RawClient } from '../support/raw-client';
import { TestLog } from '../support/server';

describe('autologout', function () {
  let imap: ListeningImap;
  before(async () => {
    const ctx: ImapContext = {
      // Nothing here logs in: the store is never asked.
      store: {} as MailStore,
      bus: new InProcessEventBus(),
      log: new TestLog(),
      limits: { ...DEFAULT_LIMITS, preauthTimeoutMs: 1500 },
      tls: null,
      allowPlaintextAuth: false,
    };
    imap = await startImapServer(ctx, { host: '127.0.0.1', port: 0, tlsPort: null });
  });
  after(async () => imap?.close());

  it('says BYE to a connection that stays silent, and closes it', async () => {
    const c = await RawClient.connect(imap.port!);
    const text = await c.waitFor((t) => /\* BYE Autologout/.test(t), 15_000);
    assert.match(text, /^\* BYE Autologout: idle for too long\r$/m);
    await c.waitFor(() => c.closed, 5000);
    for (let i = 0; i < 50 && imap.sessions() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(imap.sessions(), 0);
  });

  it('keeps a connection that talks, then logs it out once it stops', async () => {
    const c = await RawClient.connect(imap.port!);
    for (let i = 0; i < 8; i++) {
      assert.match(await c.command(`n${i}`, 'NOOP'), new RegExp(`^n${i} OK`, 'm'));
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(c.closed, false, 'closed while it was talking');
    await c.waitFor((t) => /\* BYE Autologout/.test(t), 15_000);
    await c.waitFor(() => c.closed, 5000);
  });
});
