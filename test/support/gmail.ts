// The Gmail adapter against the Gmail API emulator: account settings and credentials that
// point at an emulator, and a virtual clock shared by the emulator (quota windows, token
// expiry) and the adapter (quota pacing, backoff), so quota tests do not wait for minutes.
import assert from 'node:assert/strict';
import { AdapterError } from '../../adapters/contract';
import { GmailAdapter } from '../../adapters/gmail';
import { QuotaBudget, type Clock } from '../../adapters/gmail/quota';
import { startGmailEmulator, type GmailEmulator, type GmailEmulatorOptions } from '../emulators/gmail/server';
import { DEFAULT_CLIENT } from '../emulators/gmail/state';

export const GMAIL_USER = 'alice@example.com';

/** Time that moves only when someone sleeps (or the test says so). */
export class VirtualClock implements Clock {
  constructor(public t = Date.UTC(2024, 0, 15, 9, 0, 0)) {}
  now = (): number => this.t;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    this.slept += ms;
    this.t += ms;
    await new Promise((r) => setImmediate(r));
  };
  slept = 0;
}

export function gmailAccountSettings(emu: GmailEmulator, extra: Record<string, unknown> = {}, user = GMAIL_USER): Record<string, unknown> {
  return {
    address: user,
    clientId: DEFAULT_CLIENT.clientId,
    apiRootUrl: emu.rootUrl,
    tokenUrl: emu.tokenUrl,
    backoffBaseMs: 10,
    backoffMaxMs: 100,
    ...extra,
  };
}

export function gmailAccountCredentials(emu: GmailEmulator, user = GMAIL_USER): Record<string, string> {
  return { refreshToken: emu.state.tokensFor(user).refresh_token, clientSecret: DEFAULT_CLIENT.clientSecret };
}

export interface GmailFixture {
  emu: GmailEmulator;
  adapter: GmailAdapter;
  budget: QuotaBudget;
}

export async function gmailFixture(
  opts: { emulator?: GmailEmulatorOptions; settings?: Record<string, unknown>; clock?: Clock; unitsPerMinute?: number } = {},
): Promise<GmailFixture> {
  const emu = await startGmailEmulator({ users: [GMAIL_USER], ...opts.emulator });
  const unitsPerMinute = opts.unitsPerMinute ?? 15000;
  const budget = new QuotaBudget(unitsPerMinute, opts.clock);
  const adapter = new GmailAdapter(
    { id: 'g1', settings: gmailAccountSettings(emu, { unitsPerMinute, ...opts.settings }), credentials: gmailAccountCredentials(emu) },
    { clock: opts.clock, budget },
  );
  return { emu, adapter, budget };
}

export function mime(opts: { subject?: string; messageId?: string; body?: string; date?: string } = {}): Buffer {
  return Buffer.from(
    [
      'From: Bob <bob@example.org>',
      `To: ${GMAIL_USER}`,
      `Subject: ${opts.subject ?? 'Hello'}`,
      `Date: ${opts.date ?? 'Mon, 15 Jan 2024 09:00:00 +0000'}`,
      `Message-ID: ${opts.messageId ?? `<${Math.random().toString(36).slice(2)}@example.org>`}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      opts.body ?? 'Hi there.',
      '',
    ].join('\r\n'),
  );
}

/** The AdapterError a promise rejects with (fails when it resolves or rejects otherwise). */
export async function adapterError(p: Promise<unknown>): Promise<AdapterError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AdapterError, `expected an AdapterError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}
