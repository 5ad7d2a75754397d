// Deterministic, realistic-looking messages for benchmarks: varied headers (Received chains,
// encoded-word names and subjects, threads, lists), plain and HTML bodies, quoted-printable
// and base64, multipart/alternative, multipart/mixed with attachments of a few KB, and
// forwarded message/rfc822 parts. Sizes spread over roughly 1-30 KB. Same seed, same bytes.

/** A small seeded PRNG (xorshift32 variant): reproducible across runs and machines. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x / 0x100000000;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Zoë', 'José', 'Søren', 'Müller', 'Łukasz', '小林'];
const LAST = ['Smith', 'Jones', 'García', 'Nguyen', 'Okafor', 'Kowalski', 'Andersson', 'Rossi', 'Tanaka', 'Dubois', "O'Brien", 'Schmidt', 'Silva'];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'corp.example', 'lists.example.org', 'eu.example.com'];
const WORDS = (
  'the quarterly report meeting schedule please review attached draft budget project ' +
  'update deadline friday team notes customer feedback release candidate server migration ' +
  'invoice travel booking agenda minutes proposal contract signature approval question ' +
  'thanks regards follow up discussion roadmap priority issue ticket deployment staging ' +
  'production database backup weekend holiday lunch conference slides summary action items'
).split(' ');
const SUBJECT_PREFIX = ['', '', '', 'Re: ', 'Re: ', 'Fwd: ', 'RE: ', '[team] ', '[announce] '];
const MAILERS = ['Mozilla Thunderbird 115.3', 'Apple Mail (2.3774)', 'Microsoft Outlook 16.0', 'K-9 Mail 6.7', 'Roundcube Webmail/1.6'];
const ATTACH_TYPES: ReadonlyArray<[string, string]> = [
  ['application/pdf', 'pdf'],
  ['image/png', 'png'],
  ['image/jpeg', 'jpg'],
  ['application/octet-stream', 'bin'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
];

function encodedWord(text: string): string {
  // RFC 2047 B-encoding when the text is not plain ASCII.
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function person(rng: Rng): { name: string; addr: string } {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const local = `${first}.${last}`.normalize('NFD').replace(/[^A-Za-z.]/g, '').toLowerCase() || `user${rng.int(1, 999)}`;
  return { name: `${first} ${last}`, addr: `${local}@${rng.pick(DOMAINS)}` };
}

function mailbox(rng: Rng): string {
  const p = person(rng);
  if (rng.chance(0.15)) return p.addr;
  const display = encodedWord(p.name);
  return /[^A-Za-z0-9 ]/.test(display) && display === p.name ? `"${display}" <${p.addr}>` : `${display} <${p.addr}>`;
}

function sentence(rng: Rng, min = 6, max = 18): string {
  const n = rng.int(min, max);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
  const s = words.join(' ');
  return s[0].toUpperCase() + s.slice(1) + rng.pick(['.', '.', '.', '?', '!']);
}

/** Plain text of about `size` bytes, wrapped at 72 columns, in paragraphs. */
function text(rng: Rng, size: number): string {
  const lines: string[] = [];
  let line = '';
  let total = 0;
  while (total < size) {
    const s = sentence(rng);
    for (const w of s.split(' ')) {
      if (line.length + w.length + 1 > 72) {
        lines.push(line);
        total += line.length + 2;
        line = '';
      }
      line = line ? `${line} ${w}` : w;
    }
    if (rng.chance(0.2)) {
      lines.push(line, '');
      total += line.length + 4;
      line = '';
    }
  }
  if (line) lines.push(line);
  return lines.join('\r\n');
}

function quotedPrintable(s: string): string {
  // Enough QP for our text: escape '=' and non-ASCII bytes, soft-break long lines.
  const out: string[] = [];
  for (const line of s.split('\r\n')) {
    let enc = '';
    for (const b of Buffer.from(line, 'utf8')) {
      enc += b === 0x3d || b > 0x7e ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
    }
    while (enc.length > 76) {
      let cut = 75;
      if (enc[cut - 1] === '=') cut -= 1;
      else if (enc[cut - 2] === '=') cut -= 2;
      out.push(enc.slice(0, cut) + '=');
      enc = enc.slice(cut);
    }
    out.push(enc);
  }
  return out.join('\r\n');
}

function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

function binary(rng: Rng, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = Math.floor(rng.next() * 256);
  return b;
}

function html(plain: string): string {
  const paras = plain.split('\r\n\r\n').map((p) => `<p>${p.replace(/\r\n/g, ' ')}</p>`);
  return `<html><head><meta charset="utf-8"></head><body>\r\n${paras.join('\r\n')}\r\n</body></html>`;
}

function textPart(rng: Rng, body: string): string {
  if (rng.chance(0.4)) {
    return `Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(body)}`;
  }
  return `Content-Type: text/plain; charset=us-ascii; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${body}`;
}

function alternative(rng: Rng, body: string, n: number): string {
  const b = `alt-${n}-${rng.int(100000, 999999)}`;
  return (
    `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n` +
    `--${b}\r\n${textPart(rng, body)}\r\n` +
    `--${b}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(html(body))}\r\n` +
    `--${b}--\r\n`
  );
}

function attachment(rng: Rng, size: number): string {
  const [type, ext] = rng.pick(ATTACH_TYPES);
  const base = `${rng.pick(WORDS)}-${rng.pick(WORDS)}-${rng.int(1, 99)}`;
  const name = rng.chance(0.15) ? `Überblick ${base}.${ext}` : `${base}.${ext}`;
  const param = /^[\x20-\x7e]*$/.test(name) ? `"${name}"` : `"${encodedWord(name)}"`;
  return (
    `Content-Type: ${type}; name=${param}\r\n` +
    `Content-Disposition: attachment; filename=${param}\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(binary(rng, size))}`
  );
}

function headers(rng: Rng, n: number, date: Date): string[] {
  const from = mailbox(rng);
  const toCount = rng.int(1, 4);
  const to: string[] = [];
  for (let i = 0; i < toCount; i++) to.push(mailbox(rng));
  const h: string[] = [];
  const hops = rng.int(1, 4);
  for (let i = 0; i < hops; i++) {
    const t = new Date(date.getTime() - (hops - i) * 1000 * rng.int(1, 30));
    h.push(
      `Received: from mx${rng.int(1, 9)}.${rng.pick(DOMAINS)} (mx${rng.int(1, 9)}.${rng.pick(DOMAINS)} [127.0.${rng.int(0, 255)}.${rng.int(1, 254)}])\r\n` +
        `\tby mail.example.com (Postfix) with ESMTPS id ${rng.int(0x10000000, 0x7fffffff).toString(16).toUpperCase()}\r\n` +
        `\tfor <user@example.com>; ${t.toUTCString().replace('GMT', '+0000')}`,
    );
  }
  if (rng.chance(0.5)) {
    h.push(`DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${rng.pick(DOMAINS)}; s=sel${rng.int(1, 3)};\r\n\th=from:to:subject:date:message-id; bh=${binary(rng, 32).toString('base64')};\r\n\tb=${base64Lines(binary(rng, 128)).replace(/\r\n/g, '\r\n\t  ')}`);
  }
  const subjectWords: string[] = [];
  const sw = rng.int(2, 12);
  for (let i = 0; i < sw; i++) subjectWords.push(rng.pick(WORDS));
  let subject = rng.pick(SUBJECT_PREFIX) + subjectWords.join(' ');
  if (rng.chance(0.1)) subject += ' — ' + rng.pick(['Übersicht', 'résumé', 'Zoë', '会議']);
  h.push(`From: ${from}`);
  h.push(`To: ${to.join(',\r\n ')}`);
  if (rng.chance(0.3)) h.push(`Cc: ${mailbox(rng)}`);
  if (rng.chance(0.1)) h.push(`Reply-To: ${mailbox(rng)}`);
  h.push(`Subject: ${encodedWord(subject)}`);
  h.push(`Date: ${date.toUTCString().replace('GMT', '+0000')}`);
  h.push(`Message-ID: <${n}.${rng.int(100000, 999999)}@${rng.pick(DOMAINS)}>`);
  if (rng.chance(0.4)) {
    const parent = `<${rng.int(1, n + 1)}.${rng.int(100000, 999999)}@${rng.pick(DOMAINS)}>`;
    h.push(`In-Reply-To: ${parent}`);
    h.push(`References: <${rng.int(1, 99999)}@${rng.pick(DOMAINS)}>\r\n ${parent}`);
  }
  if (rng.chance(0.2)) h.push(`List-Id: Team list <team.${rng.pick(DOMAINS)}>`, `List-Unsubscribe: <mailto:leave@${rng.pick(DOMAINS)}>`);
  h.push(`X-Mailer: ${rng.pick(MAILERS)}`);
  h.push('MIME-Version: 1.0');
  return h;
}

/** Message number `n` (0-based) of the deterministic set for `seed`. */
export function makeMessage(n: number, seed = 42): Buffer {
  const rng = new Rng(seed * 1_000_003 + n * 7919 + 1);
  const date = new Date(Date.UTC(2024, 0, 1) + n * 3_600_000 + rng.int(0, 3_599_999));
  const h = headers(rng, n, date);
  // Target size 1-30 KB, skewed to small, as real mailboxes are.
  const target = Math.floor(1024 + Math.pow(rng.next(), 2) * 27 * 1024);
  const headerBytes = h.join('\r\n').length + 2;
  const kind = rng.next();
  let body: string;
  if (kind < 0.45) {
    // text/plain
    const part = textPart(rng, text(rng, Math.max(200, target - headerBytes - 120)));
    return Buffer.from(`${h.join('\r\n')}\r\n${part}\r\n`, 'utf8');
  } else if (kind < 0.7) {
    body = alternative(rng, text(rng, Math.max(200, (target - headerBytes) / 2.6)), n);
  } else if (kind < 0.93) {
    const attachments = rng.int(1, 3);
    const attachBytes = Math.min(target * 0.6, rng.int(2, 8) * 1024);
    const b = `mixed-${n}-${rng.int(100000, 999999)}`;
    const textSize = Math.max(200, (target - headerBytes - attachBytes * 1.37) / 2.6);
    let s = `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\nThis is a multi-part message in MIME format.\r\n`;
    s += `--${b}\r\n${alternative(rng, text(rng, textSize), n)}\r\n`;
    for (let i = 0; i < attachments; i++) s += `--${b}\r\n${attachment(rng, Math.floor(attachBytes / attachments))}\r\n`;
    body = s + `--${b}--\r\n`;
  } else {
    // A forwarded message (message/rfc822) with a short note.
    const b = `fwd-${n}-${rng.int(100000, 999999)}`;
    const inner = makeInner(rng, n, date, Math.max(600, target - headerBytes - 600));
    body =
      `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n` +
      `--${b}\r\n${textPart(rng, text(rng, 300))}\r\n` +
      `--${b}\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n${inner}\r\n` +
      `--${b}--\r\n`;
  }
  return Buffer.from(`${h.join('\r\n')}\r\n${body}`, 'utf8');
}

function makeInner(rng: Rng, n: number, date: Date, size: number): string {
  const h = headers(rng, n + 100000, new Date(date.getTime() - 86_400_000));
  return `${h.join('\r\n')}\r\n${textPart(rng, text(rng, size))}\r\n`;
}
