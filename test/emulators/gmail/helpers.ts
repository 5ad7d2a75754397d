// Shared set-up for the emulator's own tests: an emulator, a googleapis Gmail client with a
// token for its user, and checks that every answer matches the discovery document.

import assert from 'node:assert/strict';
import { google, type Auth, type gmail_v1 } from 'googleapis';
import { gmailDiscovery } from './discovery-validator';
import { startGmailEmulator, type GmailEmulator, type GmailEmulatorOptions } from './server';
import { DEFAULT_CLIENT } from './state';

export const USER = 'alice@example.com';

export interface Harness {
  emu: GmailEmulator;
  gmail: gmail_v1.Gmail;
  auth: Auth.OAuth2Client;
}

export function oauthClient(emu: GmailEmulator, opts: { forceRefreshOnFailure?: boolean } = {}): Auth.OAuth2Client {
  return new google.auth.OAuth2({
    clientId: DEFAULT_CLIENT.clientId,
    clientSecret: DEFAULT_CLIENT.clientSecret,
    redirectUri: 'http://127.0.0.1:1/callback',
    endpoints: { oauth2TokenUrl: emu.tokenUrl, oauth2AuthBaseUrl: emu.authUrl, oauth2RevokeUrl: emu.revokeUrl, tokenInfoUrl: `${emu.rootUrl}tokeninfo` },
    forceRefreshOnFailure: opts.forceRefreshOnFailure,
  });
}

export async function startHarness(opts: GmailEmulatorOptions = {}): Promise<Harness> {
  const emu = await startGmailEmulator({ users: [USER], ...opts });
  const auth = oauthClient(emu);
  const t = emu.state.tokensFor(opts.users?.[0] ?? USER);
  auth.setCredentials({ access_token: t.access_token, refresh_token: t.refresh_token });
  // No automatic retries: the tests look at each answer, faults included.
  const gmail = google.gmail({ version: 'v1', auth, rootUrl: emu.rootUrl, retry: false });
  return { emu, gmail, auth };
}

export type HarnessSlot = Harness & { start(opts?: GmailEmulatorOptions): Promise<void> };

/**
 * Per-test set-up for a describe block: a fresh emulator and client before each test (or
 * when the test calls `start`, with 'lazy'), stopped after it, with no response-shape
 * violation allowed.
 */
export function useHarness(opts: GmailEmulatorOptions | 'lazy' = {}): HarnessSlot {
  let running: GmailEmulator | undefined;
  const slot = {
    async start(o: GmailEmulatorOptions = {}) {
      Object.assign(slot, await startHarness(o));
      running = slot.emu;
    },
  } as HarnessSlot;
  if (opts !== 'lazy') beforeEach(() => slot.start(opts));
  afterEach(async () => {
    const emu = running;
    running = undefined;
    if (emu) {
      await emu.stop();
      assertClean(emu);
    }
  });
  return slot;
}

/** Asserts that a success body matches the method's response schema, and returns it. */
export function valid<T>(methodId: string, data: T): T {
  const errors = gmailDiscovery().validateResponse(methodId, data === '' ? undefined : data);
  assert.deepEqual(errors, [], `${methodId} response does not match the discovery document`);
  return data;
}

/** The emulator saw no response-shape violation and no internal error. */
export function assertClean(emu: GmailEmulator): void {
  assert.deepEqual(emu.state.violations, []);
}

export function rfc822(opts: { subject?: string; from?: string; to?: string; body?: string; messageId?: string; extra?: string; date?: string } = {}): string {
  const lines = [
    `From: ${opts.from ?? 'Bob <bob@example.org>'}`,
    `To: ${opts.to ?? USER}`,
    `Subject: ${opts.subject ?? 'Hello'}`,
    `Date: ${opts.date ?? 'Mon, 4 Dec 2023 10:00:00 +0000'}`,
    `Message-ID: ${opts.messageId ?? `<${Math.random().toString(36).slice(2)}@example.org>`}`,
  ];
  if (opts.extra) lines.push(opts.extra);
  return lines.join('\r\n') + '\r\n\r\n' + (opts.body ?? 'Hi there.\r\n');
}

export const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** The status and Google error reason of a failed googleapis call. */
export async function failure(p: Promise<unknown>): Promise<{ status: number; reason?: string; body: unknown }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status?: number; response?: { status: number; data: { error?: { errors?: { reason: string }[] } } } };
    const data = err.response?.data;
    return { status: err.response?.status ?? err.status ?? 0, reason: data?.error?.errors?.[0]?.reason, body: data };
  }
  assert.fail('expected the call to fail');
}
