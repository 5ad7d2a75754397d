// Request and response shapes shared by the emulator's modules, Graph's error body
// (https://learn.microsoft.com/graph/errors: { error: { code, message, innerError } }) and the
// OData query options the emulator understands.
import { randomUUID } from 'node:crypto';

export interface EmuRequest {
  method: string;
  /** Path without the query, e.g. /v1.0/me/messages. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** Origin that links in responses start with (https://127.0.0.1:PORT). */
  origin: string;
}

export type EmuBody = { kind: 'json'; value: unknown } | { kind: 'text'; value: string; contentType: string } | { kind: 'none' };

export interface EmuResponse {
  status: number;
  headers: Record<string, string>;
  body: EmuBody;
}

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): EmuResponse {
  return { status, headers, body: { kind: 'json', value } };
}

export function noContent(status = 204): EmuResponse {
  return { status, headers: {}, body: { kind: 'none' } };
}

export function text(status: number, value: string, contentType = 'text/plain'): EmuResponse {
  return { status, headers: {}, body: { kind: 'text', value, contentType } };
}

export function errorResponse(err: GraphError): EmuResponse {
  const now = new Date().toISOString().slice(0, 19);
  return json(
    err.status,
    { error: { code: err.code, message: err.message, innerError: { date: now, 'request-id': randomUUID(), 'client-request-id': randomUUID() } } },
    err.headers,
  );
}

export const notFound = (what = 'The specified object was not found in the store.'): GraphError => new GraphError(404, 'ErrorItemNotFound', what);
export const badRequest = (message: string, code = 'BadRequest'): GraphError => new GraphError(400, code, message);

/** The JSON body of a request, or a 400 that says why not. */
export function jsonBody(req: EmuRequest): Record<string, unknown> {
  const raw = req.body.toString('utf8');
  if (raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', 'BadRequest');
  }
}

/** `Prefer` preferences, e.g. IdType="ImmutableId", odata.maxpagesize=2. Names lower-cased. */
export function preferences(req: EmuRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (req.headers['prefer'] ?? '').split(',')) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    out.set(name, eq < 0 ? '' : item.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

export function wantsImmutableIds(req: EmuRequest): boolean {
  return preferences(req).get('idtype')?.toLowerCase() === 'immutableid';
}

/** `$select=a,b` as a list, or undefined when absent. */
export function selectList(query: URLSearchParams): string[] | undefined {
  const raw = query.get('$select');
  if (raw === null || raw.trim() === '') return undefined;
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A bounded positive integer query option (e.g. $top), or the default. */
export function intOption(query: URLSearchParams, name: string, dflt: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return dflt;
  if (!/^\d+$/.test(raw)) throw badRequest(`Invalid value '${raw}' for query option ${name}.`, 'BadRequest');
  return Math.min(Number(raw), max);
}

/** Picks the selected properties (and the OData annotations) out of a rendered entity. */
export function project<T extends object>(entity: T, select: readonly string[] | undefined, allowed: ReadonlySet<string>, typeName: string): T {
  if (select === undefined) return entity;
  for (const name of select) {
    if (!allowed.has(name)) throw badRequest(`Could not find a property named '${name}' on type '${typeName}'.`, 'RequestBroker--ParseUri');
  }
  const src = entity as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k.startsWith('@') || k === 'id' || select.includes(k)) out[k] = v;
  }
  return out as T;
}

/** Absolute link to a path of this server, with the given query (OData `$` kept readable). */
export function link(req: EmuRequest, path: string, query: URLSearchParams): string {
  const qs = query.toString().replace(/%24/g, '$');
  return `${req.origin}${path}${qs === '' ? '' : `?${qs}`}`;
}
