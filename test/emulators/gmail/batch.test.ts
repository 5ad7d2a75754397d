// The batch endpoint, spoken by hand (googleapis has no batch client): multipart/mixed in,
// multipart/mixed out, each inner call authenticated, validated and charged on its own.

import assert from 'node:assert/strict';
import { rfc822, useHarness, USER, valid } from './helpers';

interface Part {
  contentId?: string;
  status: number;
  body: unknown;
}

function batchBody(boundary: string, calls: { id: string; line: string; json?: object }[]): string {
  return (
    calls
      .map(
        (c) =>
          `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${c.id}>\r\n\r\n${c.line}\r\n` +
          (c.json ? `Content-Type: application/json\r\n\r\n${JSON.stringify(c.json)}\r\n` : '\r\n'),
      )
      .join('') + `--${boundary}--\r\n`
  );
}

function parseResponse(contentType: string, text: string): Part[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!;
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [outer, http] = chunk.replace(/^\r\n/, '').split(/\r\n\r\n(?=HTTP)/);
      const [head, ...rest] = http!.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n').trim();
      return {
        contentId: /Content-ID: (.*)/.exec(outer!)?.[1],
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(head!)![1]),
        body: body ? (JSON.parse(body) as unknown) : undefined,
      };
    });
}

describe('gmail emulator: batch', () => {
  const h = useHarness();

  const post = (body: string, boundary = 'xyz', token = h.emu.state.tokensFor(USER).access_token) =>
    fetch(`${h.emu.rootUrl}batch/gmail/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/mixed; boundary=${boundary}` },
      body,
    });

  it('answers each part in order, with its own status', async () => {
    const a = h.emu.state.deliver(USER, rfc822({ subject: 'One' }));
    const b = h.emu.state.deliver(USER, rfc822({ subject: 'Two' }));
    const res = await post(
      batchBody('xyz', [
        { id: 'a', line: `GET /gmail/v1/users/me/messages/${a.id}?format=metadata&metadataHeaders=Subject` },
        { id: 'missing', line: 'GET /gmail/v1/users/me/messages/abcdef0123' },
        { id: 'b', line: `POST /gmail/v1/users/me/messages/${b.id}/modify`, json: { removeLabelIds: ['UNREAD'] } },
        { id: 'bad', line: 'GET /gmail/v1/users/me/messages?format=raw' },
        { id: 'del', line: `DELETE /gmail/v1/users/me/messages/${a.id}` },
      ]),
    );
    assert.equal(res.status, 200);
    const parts = parseResponse(res.headers.get('content-type')!, await res.text());
    assert.deepEqual(parts.map((p) => [p.contentId, p.status]), [
      ['<response-a>', 200],
      ['<response-missing>', 404],
      ['<response-b>', 200],
      ['<response-bad>', 400],
      ['<response-del>', 204],
    ]);
    const meta = valid('gmail.users.messages.get', parts[0]!.body as { payload: { headers: unknown } });
    assert.deepEqual(meta.payload.headers, [{ name: 'Subject', value: 'One' }]);
    assert.deepEqual((parts[2]!.body as { labelIds: string[] }).labelIds, ['INBOX']);
    // get 5 + get 5 (404s are charged too) + modify 5 + delete 10; the invalid call is not charged.
    assert.equal(h.emu.state.quota.usage(USER).units, 25);
  });

  it('refuses more than 100 calls, a missing boundary, and unauthenticated parts', async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ id: String(i), line: 'GET /gmail/v1/users/me/profile' }));
    assert.equal((await post(batchBody('xyz', many))).status, 400);
    const noBoundary = await fetch(`${h.emu.rootUrl}batch/gmail/v1`, { method: 'POST', headers: { 'content-type': 'multipart/mixed' }, body: 'x' });
    assert.equal(noBoundary.status, 400);
    const res = await post(batchBody('q', [{ id: 'p', line: 'GET /gmail/v1/users/me/profile' }]), 'q', 'ya29.invalid');
    const [part] = parseResponse(res.headers.get('content-type')!, await res.text());
    assert.equal(part!.status, 401);
  });
});
