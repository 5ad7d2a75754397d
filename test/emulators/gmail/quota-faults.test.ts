// Quota accounting by Gmail's unit table and the injected faults: 429, 500, 503, history
// 404, slow and dropped responses.

import assert from 'node:assert/strict';
import { googleErrorShapeErrors } from './errors';
import { b64url, failure, rfc822, useHarness, USER } from './helpers';

describe('gmail emulator: quota', () => {
  const h = useHarness('lazy');
  let clock = 1_700_000_000_000;
  const now = () => clock;

  it('charges Gmail units per method', async () => {
    await h.start({ now });
    const m = (await h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), labelIds: ['INBOX'] } })).data;
    await h.gmail.users.messages.get({ userId: 'me', id: m.id! });
    await h.gmail.users.messages.list({ userId: 'me' });
    await h.gmail.users.messages.modify({ userId: 'me', id: m.id!, requestBody: { addLabelIds: ['STARRED'] } });
    await h.gmail.users.messages.batchModify({ userId: 'me', requestBody: { ids: [m.id!], removeLabelIds: ['STARRED'] } });
    await h.gmail.users.history.list({ userId: 'me', startHistoryId: '1' });
    await h.gmail.users.labels.list({ userId: 'me' });
    await h.gmail.users.labels.create({ userId: 'me', requestBody: { name: 'L', labelListVisibility: 'labelShow', messageListVisibility: 'show' } });
    await h.gmail.users.messages.send({ userId: 'me', requestBody: { raw: b64url(rfc822({ to: 'x@example.net' })) } });
    await h.gmail.users.getProfile({ userId: 'me' });
    const usage = h.emu.state.quota.usage(USER);
    assert.equal(usage.units, 25 + 5 + 5 + 5 + 50 + 2 + 1 + 5 + 100 + 1);
    assert.equal(usage.calls['gmail.users.messages.send'], 1);
    assert.equal(h.emu.state.quota.inWindow(USER), usage.units);
    clock += 61_000;
    assert.equal(h.emu.state.quota.inWindow(USER), 0);
  });

  it('refuses over the per-user ceiling with 429 userRateLimitExceeded, until the window moves on', async () => {
    await h.start({ now, quota: { perUserPerMinute: 20 } });
    for (let i = 0; i < 4; i++) await h.gmail.users.messages.list({ userId: 'me' });
    const refused = await failure(h.gmail.users.messages.list({ userId: 'me' }));
    assert.equal(refused.status, 429);
    assert.equal(refused.reason, 'userRateLimitExceeded');
    assert.deepEqual(googleErrorShapeErrors(refused.body), []);
    const err = (refused.body as { error: { status: string; errors: { domain: string }[]; message: string } }).error;
    assert.equal(err.status, 'RESOURCE_EXHAUSTED');
    assert.equal(err.errors[0]!.domain, 'usageLimits');
    assert.match(err.message, /^User-rate limit exceeded\.  Retry after \d{4}-/);
    // A cheaper call that still fits is not refused; the refusal cost nothing.
    assert.equal(h.emu.state.quota.inWindow(USER), 20);
    clock += 30_000;
    assert.equal((await failure(h.gmail.users.getProfile({ userId: 'me' }))).status, 429);
    clock += 30_001;
    assert.equal((await h.gmail.users.messages.list({ userId: 'me' })).status, 200);
    assert.equal(h.emu.state.quota.usage(USER).refused, 2);
  });

  it('refuses over the per-project ceiling with rateLimitExceeded; 403 variant for the per-user limit', async () => {
    await h.start({ now, users: [USER, 'bob@example.com'], quota: { perProjectPerMinute: 6, perUserPerMinute: 5, userLimitStatus: 403 } });
    await h.gmail.users.messages.list({ userId: 'me' });
    assert.equal((await failure(h.gmail.users.getProfile({ userId: 'me' }))).status, 403);
    const bob = h.emu.state.tokensFor('bob@example.com').access_token;
    const res = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/messages`, { headers: { authorization: `Bearer ${bob}` } });
    assert.equal(res.status, 429);
    assert.equal(((await res.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]!.reason, 'rateLimitExceeded');
  });
});

describe('gmail emulator: faults', () => {
  const h = useHarness({ users: [USER, 'bob@example.com'] });

  it('429, 500 and 503 in Google error format, for the given number of calls', async () => {
    h.emu.faults.failNext('messages.list', 429, 1);
    h.emu.faults.failNext('gmail.users.messages.get', 500, 2);
    h.emu.faults.inject({ method: 'labels.list', fault: { kind: 'status', status: 503, reason: 'backendError', message: 'The service is currently unavailable.' } });
    const r429 = await failure(h.gmail.users.messages.list({ userId: 'me' }));
    assert.equal(r429.status, 429);
    assert.equal(r429.reason, 'rateLimitExceeded');
    assert.deepEqual(googleErrorShapeErrors(r429.body), []);
    assert.equal((await h.gmail.users.messages.list({ userId: 'me' })).status, 200);
    const m = h.emu.state.deliver(USER, rfc822());
    const r500 = await failure(h.gmail.users.messages.get({ userId: 'me', id: m.id }));
    assert.equal(r500.status, 500);
    assert.equal(r500.reason, 'backendError');
    // googleapis retries GETs on 5xx when asked to: the second 500 is retried away.
    const retried = await h.gmail.users.messages.get({ userId: 'me', id: m.id }, { retryConfig: { retry: 2, retryDelay: 1, retryDelayMultiplier: 1 } });
    assert.equal(retried.data.id, m.id);
    assert.equal((await failure(h.gmail.users.labels.list({ userId: 'me' }))).status, 503);
  });

  it('faults can target one user', async () => {
    h.emu.faults.inject({ method: '*', user: 'bob@example.com', times: Infinity, fault: { kind: 'status', status: 500 } });
    assert.equal((await h.gmail.users.getProfile({ userId: 'me' })).status, 200);
    const bob = h.emu.state.tokensFor('bob@example.com').access_token;
    const res = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${bob}` } });
    assert.equal(res.status, 500);
    h.emu.faults.clear();
    assert.equal((await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${bob}` } })).status, 200);
  });

  it('history 404 on demand', async () => {
    const start = (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId!;
    h.emu.faults.inject({ method: 'history.list', fault: { kind: 'historyGone' } });
    const gone = await failure(h.gmail.users.history.list({ userId: 'me', startHistoryId: start }));
    assert.equal(gone.status, 404);
    assert.equal(gone.reason, 'notFound');
    assert.equal((await h.gmail.users.history.list({ userId: 'me', startHistoryId: start })).status, 200);
  });

  it('slow responses run into the client timeout', async () => {
    h.emu.faults.inject({ method: 'getProfile', fault: { kind: 'slow', delayMs: 1000 } });
    const slow = await failure(h.gmail.users.getProfile({ userId: 'me' }, { timeout: 50 }));
    assert.equal(slow.status, 0);
  });

  it('dropped before: nothing happened; dropped after: applied, but the answer is lost', async () => {
    const insert = () => h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), labelIds: ['INBOX'] } });
    h.emu.faults.inject({ method: 'messages.insert', fault: { kind: 'drop', when: 'before' } });
    const before = await failure(insert());
    assert.equal(before.status, 0);
    assert.equal(h.emu.state.mailbox(USER).all().length, 0);
    h.emu.faults.inject({ method: 'messages.insert', fault: { kind: 'drop', when: 'after' } });
    const after = await failure(insert());
    assert.equal(after.status, 0);
    assert.equal(h.emu.state.mailbox(USER).all().length, 1);
    assert.equal((await insert()).status, 200);
    assert.equal(h.emu.state.mailbox(USER).all().length, 2);
  });
});
