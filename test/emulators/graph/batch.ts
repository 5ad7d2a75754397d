// JSON batching (concepts/json-batching.md): POST /v1.0/$batch with up to 20 requests, each
// run through the same dispatcher as a direct request (so faults and throttling apply to
// each one: a throttled member answers 429 inside a 200 batch). Members without dependsOn
// run 4 at a time, like Outlook; dependsOn orders them, and a failed dependency makes its
// dependents answer 424. Non-JSON bodies (MIME from $value) come back base64-encoded.
import { EmuRequest, EmuResponse, badRequest, json, jsonBody } from './http';

const MAX_REQUESTS = 20;
const PARALLEL = 4;

interface BatchMember {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

export interface BatchResponseMember {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

function member(value: unknown): BatchMember {
  const r = value as Partial<BatchMember> | null;
  if (r === null || typeof r !== 'object' || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') {
    throw badRequest('Invalid batch payload format: each request needs id, method and url.', 'BadRequest');
  }
  if (r.body !== undefined && !Object.keys(r.headers ?? {}).some((h) => h.toLowerCase() === 'content-type')) {
    throw badRequest(`Content-Type header is required in request '${r.id}' because it has a body.`, 'BadRequest');
  }
  if (r.dependsOn !== undefined && (!Array.isArray(r.dependsOn) || r.dependsOn.some((d) => typeof d !== 'string'))) throw badRequest('dependsOn must be an array of ids.', 'BadRequest');
  return r as BatchMember;
}

function subRequest(outer: EmuRequest, m: BatchMember): EmuRequest {
  const rel = m.url.startsWith('/') ? m.url : `/${m.url}`;
  const u = new URL(`http://x/v1.0${rel}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (outer.headers['authorization'] !== undefined) headers['authorization'] = outer.headers['authorization'];
  let body = Buffer.alloc(0);
  if (m.body !== undefined) body = Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body), 'utf8');
  return { method: m.method.toUpperCase(), path: u.pathname, query: u.searchParams, headers, body, origin: outer.origin };
}

function toMember(id: string, res: EmuResponse): BatchResponseMember {
  const headers: Record<string, string> = { ...res.headers };
  const out: BatchResponseMember = { id, status: res.status, headers };
  if (res.body.kind === 'json') {
    headers['Content-Type'] = 'application/json';
    out.body = res.body.value;
  } else if (res.body.kind === 'text') {
    headers['Content-Type'] = res.body.contentType;
    out.body = Buffer.from(res.body.value, 'latin1').toString('base64');
  }
  return out;
}

function checkAcyclic(members: BatchMember[]): void {
  const byId = new Map(members.map((m) => [m.id.toLowerCase(), m]));
  const done = new Set<string>();
  const visit = (m: BatchMember, path: Set<string>): void => {
    const key = m.id.toLowerCase();
    if (done.has(key)) return;
    if (path.has(key)) throw badRequest(`Request '${m.id}' depends on itself through dependsOn.`, 'BadRequest');
    path.add(key);
    for (const d of m.dependsOn ?? []) visit(byId.get(d.toLowerCase()) as BatchMember, path);
    path.delete(key);
    done.add(key);
  };
  for (const m of members) visit(m, new Set());
}

export async function handleBatch(req: EmuRequest, dispatch: (r: EmuRequest) => Promise<EmuResponse>): Promise<EmuResponse> {
  const body = jsonBody(req);
  if (!Array.isArray(body.requests) || body.requests.length === 0) throw badRequest('Invalid batch payload format: requests is required.', 'BadRequest');
  if (body.requests.length > MAX_REQUESTS) throw badRequest(`The number of requests in a batch exceeds the limit of ${MAX_REQUESTS}.`, 'BadRequest');
  const members = body.requests.map(member);
  const ids = new Set<string>();
  for (const m of members) {
    const key = m.id.toLowerCase();
    if (ids.has(key)) throw badRequest(`Request id '${m.id}' is duplicated in the batch.`, 'BadRequest');
    ids.add(key);
  }
  for (const m of members) for (const d of m.dependsOn ?? []) if (!ids.has(d.toLowerCase())) throw badRequest(`Request '${m.id}' depends on unknown request '${d}'.`, 'BadRequest');
  checkAcyclic(members);

  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async (): Promise<void> => {
    while (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
    running += 1;
  };
  const free = (): void => {
    running -= 1;
    waiting.shift()?.();
  };

  const results = new Map<string, Promise<BatchResponseMember>>();
  const run = (m: BatchMember): Promise<BatchResponseMember> => {
    const existing = results.get(m.id.toLowerCase());
    if (existing !== undefined) return existing;
    const p = (async (): Promise<BatchResponseMember> => {
      for (const d of m.dependsOn ?? []) {
        const dep = members.find((x) => x.id.toLowerCase() === d.toLowerCase()) as BatchMember;
        const r = await run(dep);
        if (r.status >= 400) return { id: m.id, status: 424, headers: {}, body: { error: { code: 'FailedDependency', message: `Request '${d}' it depends on failed.` } } };
      }
      await slot();
      try {
        return toMember(m.id, await dispatch(subRequest(req, m)));
      } finally {
        free();
      }
    })();
    results.set(m.id.toLowerCase(), p);
    return p;
  };
  const responses = await Promise.all(members.map(run));
  return json(200, { responses });
}
