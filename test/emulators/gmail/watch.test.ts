// users.watch / users.stop and the Pub/Sub push that a mailbox change produces.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { b64url, failure, rfc822, useHarness, USER, valid } from './helpers';

interface Push {
  authorization?: string;
  body: { message: { data: string; messageId: string; publishTime: string; message_id: string; publish_time: string }; subscription: string };
}

/** A push endpoint that records what it receives; the first `failFirst` calls get 500. */
async function pushReceiver(failFirst = 0): Promise<{ url: string; next(): Promise<Push>; received: Push[]; close(): Promise<void> }> {
  const received: Push[] = [];
  const waiters: ((p: Push) => void)[] = [];
  const queue: Push[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      if (calls <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      const push: Push = { authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) as Push['body'] };
      received.push(push);
      const w = waiters.shift();
      if (w) w(push);
      else queue.push(push);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push/gmail`,
    received,
    next: () => new Promise((resolve) => (queue.length > 0 ? resolve(queue.shift()!) : waiters.push(resolve))),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const TOPIC = 'projects/memgate-test/topics/gmail';
const decode = (p: Push): { emailAddress: string; historyId: number } => JSON.parse(Buffer.from(p.body.message.data, 'base64').toString()) as never;

describe('gmail emulator: watch and push', () => {
  const h = useHarness('lazy');
  let rx: Awaited<ReturnType<typeof pushReceiver>>;
  const start = async (failFirst = 0) => {
    rx = await pushReceiver(failFirst);
    await h.start({ push: [{ topicName: TOPIC, subscription: 'projects/memgate-test/subscriptions/gw', endpoint: rx.url, bearerToken: 'push-secret' }] });
    h.emu.state.watches.retryDelaysMs = [10, 10, 10];
  };
  afterEach(async () => {
    await rx.close();
  });

  const insert = async (labelIds = ['INBOX']) => (await h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), labelIds } })).data;
  const historyIdOf = async (id: string) => Number((await h.gmail.users.messages.get({ userId: 'me', id, format: 'minimal' })).data.historyId);

  it('pushes {emailAddress, historyId} in Pub/Sub push format after a change', async () => {
    await start();
    const w = valid('gmail.users.watch', (await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC, labelIds: ['INBOX'] } })).data);
    assert.equal(w.historyId, (await h.gmail.users.getProfile({ userId: 'me' })).data.historyId);
    assert.ok(Number(w.expiration) > Date.now());
    const m = h.emu.state.deliver(USER, rfc822());
    const push = await rx.next();
    assert.equal(push.authorization, 'Bearer push-secret');
    assert.equal(push.body.subscription, 'projects/memgate-test/subscriptions/gw');
    assert.match(push.body.message.messageId, /^\d+$/);
    assert.equal(push.body.message.message_id, push.body.message.messageId);
    assert.ok(!Number.isNaN(Date.parse(push.body.message.publishTime)));
    assert.deepEqual(decode(push), { emailAddress: USER, historyId: m.historyId });
  });

  it('applies the label filter (include and exclude)', async () => {
    await start();
    await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC, labelIds: ['INBOX'], labelFilterBehavior: 'include' } });
    await insert(['SENT']);
    const inInbox = await insert(['INBOX']);
    assert.equal(decode(await rx.next()).historyId, await historyIdOf(inInbox.id!));

    await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC, labelIds: ['SPAM'], labelFilterAction: 'exclude' } });
    await insert(['SPAM']);
    const other = await insert(['INBOX']);
    assert.equal(decode(await rx.next()).historyId, await historyIdOf(other.id!));
    assert.equal(rx.received.length, 2);
  });

  it('stop ends the pushes', async () => {
    await start();
    await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC } });
    const r = await h.gmail.users.stop({ userId: 'me' });
    assert.equal(r.status, 204);
    valid('gmail.users.stop', r.data);
    await insert();
    await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC } });
    const after = await insert();
    assert.equal(decode(await rx.next()).historyId, await historyIdOf(after.id!));
    assert.equal(rx.received.length, 1);
  });

  it('retries a push the endpoint refused', async () => {
    await start(2);
    await h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC } });
    const m = await insert();
    assert.equal(decode(await rx.next()).historyId, await historyIdOf(m.id!));
    assert.deepEqual(h.emu.state.watches.deliveries.map((d) => [d.attempt, d.status]), [[1, 500], [2, 500], [3, 204]]);
  });

  it('refuses a malformed or unknown topic', async () => {
    await start();
    assert.equal((await failure(h.gmail.users.watch({ userId: 'me', requestBody: { topicName: 'gmail-topic' } }))).status, 400);
    assert.equal((await failure(h.gmail.users.watch({ userId: 'me', requestBody: { topicName: 'projects/x/topics/unknown' } }))).status, 404);
    assert.equal((await failure(h.gmail.users.watch({ userId: 'me', requestBody: { topicName: TOPIC, labelIds: ['Label_77'] } }))).status, 400);
  });
});
