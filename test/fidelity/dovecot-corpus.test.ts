// Differential fidelity test: every .eml of the shared corpus is APPENDed to memgate and to a
// private Dovecot, and ENVELOPE, BODYSTRUCTURE and BODY.PEEK[n.MIME] of every leaf part must
// agree. memgate's BODY.PEEK[] must also be byte-exact and RFC822.SIZE its length.
// LF-only files are converted to CRLF before appending to both (Dovecot stores CRLF).
// BINARY is not compared (Dovecot differs on multipart parts).
import * as assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage, type MimePart } from '../../src/mime/parse';
import { requireDovecot, startDovecot, type DovecotInstance } from '../support/dovecot';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

/** Corpus file (relative to the corpus root) -> reason it may differ from Dovecot. */
const KNOWN_DIFFERENCES: Record<string, string> = {};

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}

const CORPUS = path.resolve(repoRoot(), '../shared/corpus');

function listEml(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listEml(p));
    else if (e.name.endsWith('.eml')) out.push(p);
  }
  return out.sort();
}

/** CRLF everywhere (what Dovecot stores), so both servers see the same bytes. */
function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

type Value = string | null | Value[];

/** A small IMAP value parser: quoted strings and literals become the same string. */
function parseImap(buf: Buffer): Value[] {
  let i = 0;
  const sp = (): void => {
    while (buf[i] === 0x20) i++;
  };
  const val = (): Value => {
    sp();
    const c = buf[i];
    if (c === 0x28) {
      i++;
      const a: Value[] = [];
      for (;;) {
        sp();
        if (buf[i] === 0x29) {
          i++;
          return a;
        }
        if (i >= buf.length) throw new Error('unexpected end of response');
        a.push(val());
      }
    }
    if (c === 0x22) {
      i++;
      const s: number[] = [];
      while (buf[i] !== 0x22) {
        if (i >= buf.length) throw new Error('unterminated string');
        if (buf[i] === 0x5c) i++;
        s.push(buf[i++]);
      }
      i++;
      return Buffer.from(s).toString('latin1');
    }
    if (c === 0x7b || (c === 0x7e && buf[i + 1] === 0x7b)) {
      if (c === 0x7e) i++;
      const e = buf.indexOf('}', i);
      const n = Number(buf.toString('latin1', i + 1, e));
      i = e + 3;
      const s = buf.toString('latin1', i, i + n);
      i += n;
      return s;
    }
    const j = i;
    while (i < buf.length && ![0x20, 0x28, 0x29].includes(buf[i])) {
      if (buf[i] === 0x5b) i = buf.indexOf(0x5d, i);
      i++;
    }
    const a = buf.toString('latin1', j, i);
    return a === 'NIL' ? null : a;
  };
  const out: Value[] = [];
  while (i < buf.length) {
    sp();
    if (i >= buf.length) break;
    const k = i;
    out.push(val());
    if (i === k) i++;
  }
  return out;
}

/** Leaf part numbers (IMAP section numbering), descending into message/rfc822. */
function leafParts(root: MimePart): string[] {
  const out: string[] = [];
  const isMsg = (p: MimePart): boolean =>
    !!p.message && p.contentType.subtype.toLowerCase() !== 'global';
  const walkMessage = (msg: MimePart, prefix: number[], depth: number): void => {
    if (depth > 6) return;
    if (msg.children.length) msg.children.forEach((c, i) => walkPart(c, [...prefix, i + 1], depth + 1));
    else if (isMsg(msg)) walkMessage(msg.message!, [...prefix, 1], depth + 1);
    else out.push([...prefix, 1].join('.'));
  };
  const walkPart = (p: MimePart, num: number[], depth: number): void => {
    if (depth > 6) return;
    if (isMsg(p)) walkMessage(p.message!, num, depth);
    else if (p.children.length) p.children.forEach((c, i) => walkPart(c, [...num, i + 1], depth + 1));
    else out.push(num.join('.'));
  };
  walkMessage(root, [], 0);
  return [...new Set(out)];
}

async function login(port: number, user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const r = await c.command('L', `LOGIN ${user} ${password}`);
  assert.match(r, /^L OK/m, r);
  return c;
}

async function append(c: RawClient, raw: Buffer): Promise<void> {
  const r = await c.command('A', Buffer.concat([Buffer.from(`APPEND INBOX {${raw.length}+}\r\n`), raw]));
  assert.match(r, /^A OK/m, r);
}

/**
 * The response's syntax with every string (quoted or literal) replaced by S: the parsed
 * comparison cannot see spacing, and the grammar is strict about it (no space between the
 * addresses of a list or the parts of a multipart).
 */
function shapeOf(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; ) {
    if (body[i] === '"') {
      i++;
      while (i < body.length && body[i] !== '"') i += body[i] === '\\' ? 2 : 1;
      i++;
      out += 'S';
    } else if (body[i] === '{') {
      const m = /^\{(\d+)\}\r\n/.exec(body.slice(i, i + 30));
      if (!m) throw new Error(`bad literal at ${i}`);
      i += m[0].length + Number(m[1]);
      out += 'S';
    } else out += body[i++];
  }
  return out;
}

const shapes = new Map<string, string>();

/** FETCH one item of message `seq`; returns [item name, parsed value]. */
async function fetchItem(c: RawClient, seq: number, item: string): Promise<[Value, Value]> {
  const r = await c.command('F', `FETCH ${seq} (${item})`);
  const m = /\r\nF OK[^\r\n]*\r\n$/.exec(r);
  assert.ok(m, `FETCH ${item} failed: ${r.slice(-300)}`);
  const head = `* ${seq} FETCH (`;
  const start = r.indexOf(head);
  assert.ok(start >= 0, `no FETCH response for ${item}: ${r.slice(0, 300)}`);
  const body = r.slice(start + head.length, m.index);
  assert.ok(body.endsWith(')'), `unterminated FETCH response for ${item}`);
  shapes.set(item, shapeOf(body));
  const parsed = parseImap(Buffer.from(body.slice(0, -1), 'latin1'));
  assert.equal(parsed.length, 2, `expected exactly one item for ${item}: ${JSON.stringify(parsed).slice(0, 300)}`);
  return [parsed[0], parsed[1]];
}

describe('fidelity: shared corpus against Dovecot', function () {
  this.timeout(120000);
  const files = listEml(CORPUS);
  let server: TestServer | undefined;
  let dovecot: DovecotInstance | undefined;
  let mg: RawClient | undefined;
  let dv: RawClient | undefined;

  before(async function () {
    requireDovecot(this);
    if (files.length === 0) throw new Error(`no .eml files under ${CORPUS}`);
    server = await startTestServer();
    const { user, password } = await server.addUser();
    dovecot = await startDovecot({ users: { alice: 'secret' } });
    mg = await login(server.port, user, password);
    dv = await login(dovecot.imapPort, 'alice', 'secret');
  });

  after(async () => {
    mg?.close();
    dv?.close();
    await dovecot?.stop();
    await server?.stop();
  });

  it('agrees with Dovecot on ENVELOPE, BODYSTRUCTURE and leaf MIME headers; memgate is byte-exact', async function () {
    const raws = files.map((f) => toCrlf(fs.readFileSync(f)));
    for (const raw of raws) {
      await append(mg!, raw);
      await append(dv!, raw);
    }
    for (const c of [mg!, dv!]) {
      const r = await c.command('S', 'SELECT INBOX');
      assert.match(r, new RegExp(`^\\* ${raws.length} EXISTS`, 'm'), r);
    }

    const failures: string[] = [];
    let compared = 0;
    let knownSeen = 0;
    for (let n = 0; n < files.length; n++) {
      const rel = path.relative(CORPUS, files[n]);
      const raw = raws[n];
      const seq = n + 1;
      const known = KNOWN_DIFFERENCES[rel];

      // memgate alone: byte-exact BODY[] and RFC822.SIZE
      const [, full] = await fetchItem(mg!, seq, 'BODY.PEEK[]');
      if (full !== raw.toString('latin1')) failures.push(`${rel}: BODY[] is not byte-exact`);
      const [, size] = await fetchItem(mg!, seq, 'RFC822.SIZE');
      if (Number(size) !== raw.length) failures.push(`${rel}: RFC822.SIZE ${String(size)} != ${raw.length}`);

      const items = ['ENVELOPE', 'BODYSTRUCTURE', ...leafParts(parseMessage(raw)).map((p) => `BODY.PEEK[${p}.MIME]`)];
      let differs = false;
      for (const item of items) {
        const a = await fetchItem(mg!, seq, item);
        const shapeA = shapes.get(item);
        const b = await fetchItem(dv!, seq, item);
        const shapeB = shapes.get(item);
        compared++;
        const ja = JSON.stringify(a) + (item.startsWith('BODY.PEEK') ? '' : `\n  shape: ${shapeA}`);
        const jb = JSON.stringify(b) + (item.startsWith('BODY.PEEK') ? '' : `\n  shape: ${shapeB}`);
        if (ja !== jb) {
          differs = true;
          if (!known) failures.push(`${rel} ${item}\n  memgate: ${ja.slice(0, 600)}\n  dovecot: ${jb.slice(0, 600)}`);
        }
      }
      if (known && differs) knownSeen++;
      else if (known) failures.push(`${rel}: listed in KNOWN_DIFFERENCES (${known}) but now agrees; remove it`);
    }
    console.log(`    fidelity: ${files.length} files, ${compared} items compared, ${knownSeen} known differences`);
    assert.equal(failures.length, 0, `${failures.length} differences:\n${failures.join('\n')}`);
  });
});
