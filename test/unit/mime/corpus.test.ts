// Runs the MIME layer over every file of the shared corpus (../shared/corpus, see its
// README): nothing throws, offsets are sane, BODY[] is byte-exact, and ENVELOPE /
// BODYSTRUCTURE / BODY serialize to well-formed IMAP text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MimePart, fromJSON, parseMessage, toJSON } from '../../../src/mime/parse';
import { decodedSection, sectionBytes } from '../../../src/mime/section';
import { bodyText, headerText } from '../../../src/mime/text';
import { envelope } from '../../../src/imap/fetch/envelope';
import { bodyStructure } from '../../../src/imap/fetch/bodystructure';
import { WireValue, serialize, toBuffer } from '../../../src/imap/wire/encode';

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

/**
 * Checks IMAP syntax (RFC 9051 4, 9): NIL, numbers, quoted strings without CR/LF, literals
 * with their exact length, parenthesized lists with single spaces between items (none
 * after "(" or before ")", none needed between ")(" as in body-type-mpart). Returns the
 * offset after one value.
 */
function checkValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x28) {
    i++;
    if (b[i] === 0x29) return i + 1;
    for (;;) {
      i = checkValue(b, i);
      if (b[i] === 0x29) return i + 1;
      if (b[i] === 0x20) i++;
      else if (b[i] !== 0x28 || b[i - 1] !== 0x29) throw new Error(`bad separator at ${i}`);
      if (b[i] === 0x20 || b[i] === 0x29) throw new Error(`bad spacing at ${i}`);
    }
  }
  if (c === 0x22) {
    for (i++; i < b.length; i++) {
      if (b[i] === 0x5c) {
        if (b[i + 1] !== 0x22 && b[i + 1] !== 0x5c) throw new Error(`bad escape at ${i}`);
        i++;
      } else if (b[i] === 0x22) return i + 1;
      else if (b[i] === 0x0d || b[i] === 0x0a || b[i] === 0) throw new Error(`CR/LF/NUL in quoted string at ${i}`);
    }
    throw new Error('unterminated quoted string');
  }
  if (c === 0x7b) {
    const m = /^\{(\d+)\}\r\n/.exec(b.toString('latin1', i, i + 24));
    if (!m) throw new Error(`bad literal at ${i}`);
    const end = i + m[0].length + Number(m[1]);
    if (end > b.length) throw new Error('literal runs past the end');
    if (b.subarray(i + m[0].length, end).includes(0)) throw new Error('NUL in literal');
    return end;
  }
  const m = /^(NIL|\d+)/.exec(b.toString('latin1', i, i + 20));
  if (!m) throw new Error(`unexpected byte ${c} at ${i}`);
  return i + m[0].length;
}

function assertWellFormed(value: WireValue, what: string): void {
  const b = toBuffer(serialize(value));
  let end: number;
  try {
    end = checkValue(b, 0);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}: ${b.toString('latin1').slice(0, 300)}`);
  }
  assert.equal(end, b.length, `${what}: trailing bytes`);
}

function checkPart(p: MimePart, lo: number, hi: number, where: string): void {
  assert.ok(lo <= p.headerStart && p.headerStart <= p.headerEnd && p.headerEnd <= p.bodyEnd && p.bodyEnd <= hi, `${where}: offsets`);
  assert.equal(p.bodySize, p.bodyEnd - p.headerEnd, `${where}: bodySize`);
  for (const h of p.headers) assert.ok(p.headerStart <= h.start && h.start <= h.end && h.end <= p.headerEnd, `${where}: header ${h.name}`);
  let prev = p.headerEnd;
  p.children.forEach((c, i) => {
    checkPart(c, prev, p.bodyEnd, `${where}.${i + 1}`);
    prev = c.bodyEnd;
  });
  if (p.message) checkPart(p.message, p.headerEnd, p.bodyEnd, `${where}.message`);
}

/** Every part path of a message, as FETCH BODY[...] numbers them. */
function partPaths(msg: MimePart, prefix: number[] = [], depth = 0): number[][] {
  if (depth > 20) return [];
  const parts = msg.children.length > 0 ? msg.children : msg.contentType.type.toLowerCase() === 'multipart' ? [] : [msg];
  return parts.flatMap((p, i) => {
    const here = [...prefix, i + 1];
    const inner = p.children.length > 0 ? partPaths(p, here, depth + 1) : p.message && p !== msg ? partPaths(p.message, here, depth + 1) : [];
    return [here, ...inner];
  });
}

describe('mime: shared corpus', () => {
  const corpus = path.resolve(repoRoot(), '../shared/corpus');
  const files = fs.existsSync(corpus) ? listFiles(corpus).sort() : [];

  it('finds the corpus', function () {
    if (files.length === 0) this.skip();
    assert.ok(files.length > 50);
  });

  for (const file of files) {
    it(path.relative(corpus, file), () => {
      const raw = fs.readFileSync(file);
      const root = parseMessage(raw);
      checkPart(root, 0, raw.length, 'root');
      assert.equal(root.bodyEnd, raw.length);
      assert.deepEqual(fromJSON(toJSON(root)), root);
      const whole = sectionBytes(raw, root, { part: [] });
      assert.ok(whole !== null && whole.equals(raw), 'BODY[] is byte-exact');
      for (const extended of [true, false]) assertWellFormed(bodyStructure(raw, root, extended), extended ? 'BODYSTRUCTURE' : 'BODY');
      assertWellFormed(envelope(raw, root), 'ENVELOPE');
      assertWellFormed(envelope(raw, root, true), 'ENVELOPE (UTF8)');
      for (const part of partPaths(root)) {
        assert.ok(sectionBytes(raw, root, { part }) !== null, `BODY[${part.join('.')}]`);
        assert.ok(sectionBytes(raw, root, { part, text: 'MIME' }) !== null, `BODY[${part.join('.')}.MIME]`);
        sectionBytes(raw, root, { part, text: 'HEADER' });
        sectionBytes(raw, root, { part, text: 'HEADER.FIELDS', fields: ['From', 'Subject'] });
        assert.ok(decodedSection(raw, root, part) !== null, `BINARY[${part.join('.')}]`);
      }
      for (const name of ['subject', 'from', 'to']) headerText(raw, root, name);
      assert.equal(typeof bodyText(raw, root), 'string');
    });
  }
});
