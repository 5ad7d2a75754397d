// The batch endpoint (https://developers.google.com/gmail/api/guides/batch): a
// multipart/mixed body of up to 100 application/http requests, answered by a multipart/mixed
// body of their responses in the same order, Content-ID "response-<id>". Each inner call is
// an ordinary API call: its own authentication (or the outer one), faults and quota units.

import crypto from 'node:crypto';
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import { callApi } from './api';
import type { DiscoveryValidator } from './discovery-validator';
import { badRequest } from './errors';
import { readBody, send } from './http-util';
import type { GmailState, RequestLogEntry } from './state';

const MAX_CALLS = 100;

interface InnerRequest {
  contentId?: string;
  method: string;
  target: string;
  headers: Map<string, string>;
  body: Buffer;
}

function splitHead(buf: Buffer): { head: string; rest: Buffer } {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  const [at, len] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [buf.length, 0];
  return { head: buf.subarray(0, at).toString('latin1'), rest: buf.subarray(at + len) };
}

function headerMap(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const colon = l.indexOf(':');
    if (colon > 0) m.set(l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim());
  }
  return m;
}

export function parseBatch(body: Buffer, contentType: string): InnerRequest[] {
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\/mixed/i.test(contentType) || !b) throw badRequest('A batch request is multipart/mixed with a boundary');
  const text = body.toString('latin1');
  const delimiter = `--${b}`;
  const chunks = text.split(new RegExp(`\\r?\\n?${delimiter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const out: InnerRequest[] = [];
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) break;
    const part = Buffer.from(chunk.replace(/^[ \t]*\r?\n/, ''), 'latin1');
    const outer = splitHead(part);
    const partHeaders = headerMap(outer.head.split(/\r?\n/));
    const inner = splitHead(outer.rest);
    const [requestLine, ...lines] = inner.head.split(/\r?\n/);
    const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(requestLine?.trim() ?? '');
    if (!m) throw badRequest(`Bad request line in batch part: ${requestLine ?? ''}`);
    out.push({ contentId: partHeaders.get('content-id'), method: m[1]!, target: m[2]!, headers: headerMap(lines), body: inner.rest });
  }
  if (out.length === 0) throw badRequest('Empty batch request');
  if (out.length > MAX_CALLS) throw badRequest(`Too many requests in a batch: ${out.length} (at most ${MAX_CALLS})`);
  return out;
}

export async function handleBatch(state: GmailState, discovery: DiscoveryValidator, req: http.IncomingMessage, res: http.ServerResponse, entry: RequestLogEntry): Promise<void> {
  let parts: InnerRequest[];
  try {
    parts = parseBatch(await readBody(req), req.headers['content-type'] ?? '');
  } catch (e) {
    const err = e as ReturnType<typeof badRequest>;
    entry.status = 400;
    send(res, 400, err.body());
    return;
  }
  const boundary = `batch_${crypto.randomBytes(12).toString('base64url')}`;
  const out: string[] = [];
  for (const p of parts) {
    const url = new URL(p.target, state.baseUrl);
    const inner: RequestLogEntry = { method: p.method, path: url.pathname, status: 0 };
    state.requests.push(inner);
    const body = p.body.toString('latin1').replace(/\r?\n$/, '');
    const r = await callApi(
      state,
      discovery,
      {
        method: p.method,
        url,
        authorization: p.headers.get('authorization') ?? req.headers.authorization,
        contentType: p.headers.get('content-type') ?? (body.length > 0 ? 'application/json' : undefined),
        readBody: () => Promise.resolve(Buffer.from(body, 'latin1')),
      },
      inner,
    );
    if (r.kind === 'drop') {
      inner.status = entry.status = -1;
      res.socket?.destroy();
      return;
    }
    inner.status = r.status;
    const json = r.body === undefined ? '' : JSON.stringify(r.body);
    const id = p.contentId ? p.contentId.replace(/^<?(.*?)>?$/, '<response-$1>') : undefined;
    out.push(
      `--${boundary}\r\nContent-Type: application/http\r\n${id ? `Content-ID: ${id}\r\n` : ''}\r\n` +
        `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}\r\n` +
        (json ? `Content-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` : '') +
        Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
        `\r\n${json}\r\n`,
    );
  }
  const text = Buffer.from(out.join('') + `--${boundary}--\r\n`, 'utf8');
  entry.status = 200;
  res.writeHead(200, { 'content-type': `multipart/mixed; boundary=${boundary}`, 'content-length': String(text.length) });
  res.end(text);
}
