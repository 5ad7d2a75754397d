// Python's imaplib as an independent client (TLS, STARTTLS, APPEND, FETCH, SEARCH...).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../support/server';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'imaplib_session.py');

describe('Python imaplib against memgate', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server?.stop());

  it('runs a whole session and sees RFC-correct answers', async () => {
    const { user, password } = await server.addUser();
    const { stdout } = await run('python3', [SCRIPT, '127.0.0.1', String(server.port), String(server.tlsPort), user, password]);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.ok((out.capabilities as string[]).includes('IMAP4REV1'));
    assert.equal(out.create, 'OK');
    assert.deepEqual((out.append as string[])[0], 'OK');
    assert.match((out.append as string[])[1], /APPENDUID \d+ 1/);
    assert.deepEqual(out.select, ['OK', '1']);
    assert.match(out.fetch_size as string, /RFC822\.SIZE 168/);
    assert.equal(out.fetch_body_equal, true);
    assert.equal(out.search, '1');
    assert.equal(out.uid_search, '1');
    assert.match(out.store as string, /1 \(FLAGS \((?=.*\\Seen)(?=.*\\Flagged).*\)\)/);
    assert.deepEqual(out.list, ['(\\HasNoChildren) "/" Reports/2026']);
    assert.match(out.status as string, /MESSAGES 1/);
    assert.equal(out.copy, 'OK');
    assert.deepEqual(out.expunge, ['1']);
    assert.deepEqual(out.starttls_select, ['OK', '1']);
  });
});
