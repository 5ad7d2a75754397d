// One Gmail API call, independent of the transport (a plain HTTP request or one part of a
// batch): route (discovery) -> authenticate -> scopes -> injected faults -> request
// validation (400) -> quota (429) -> handler -> response validation (a violation is
// recorded in state.violations) -> answer.

import type { DiscoveryValidator } from './discovery-validator';
import { ApiError, badRequest, forbidden, googleErrorShapeErrors, notFound } from './errors';
import type { Fault } from './faults';
import { HANDLERS } from './handlers';
import type { Mailbox } from './messages';
import type { GmailState, RequestLogEntry } from './state';

export interface ApiCall {
  method: string;
  url: URL;
  authorization?: string;
  contentType?: string;
  readBody(): Promise<Buffer>;
}

export type ApiAnswer =
  | { kind: 'answer'; status: number; body: unknown; headers: Record<string, string> }
  /** The connection is to be closed without an answer (an injected drop). */
  | { kind: 'drop' };

export async function callApi(state: GmailState, discovery: DiscoveryValidator, call: ApiCall, entry: RequestLogEntry): Promise<ApiAnswer> {
  const { url } = call;
  const matched = discovery.match(call.method, url.pathname.slice(1));
  try {
    if (!matched) throw notFound(`Method not found: ${call.method} ${url.pathname}`);
    const { method, pathParams } = matched;
    entry.methodId = method.id;
    const authz = call.authorization;
    const bearer = authz?.startsWith('Bearer ') ? authz.slice(7).trim() : (url.searchParams.get('access_token') ?? url.searchParams.get('oauth_token') ?? undefined);
    const who = state.auth.authenticate(bearer);
    entry.user = who.email;
    const mailbox = resolveUser(state, pathParams.userId!, who.email);
    const allowed = (method as { scopes?: string[] }).scopes ?? [];
    if (!allowed.some((s) => who.scopes.includes(s))) {
      throw new ApiError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions');
    }
    const faults = state.faults.take(method.id, mailbox.email);
    if (await applyFaultsBefore(faults, method.id)) return { kind: 'drop' };

    const raw = await call.readBody();
    let body: unknown;
    if (raw.length > 0) {
      const type = call.contentType ?? '';
      if (!type.startsWith('application/json')) throw badRequest(`Media upload is not emulated (${type}): send the message as requestBody.raw`);
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw badRequest('Invalid JSON payload received.', 'parseError');
      }
    }
    const problems = discovery.validateRequest(method, url.searchParams, body);
    if (problems.length > 0) throw badRequest(`Invalid request: ${problems.join('; ')}`);
    state.quota.charge(mailbox.email, method.id);

    const handler = HANDLERS[method.id];
    if (!handler) throw new ApiError(501, `${method.id} is not emulated`, 'notImplemented');
    let result = handler({ state, mailbox, query: url.searchParams, pathParams, body });
    for (const f of faults) if (f.kind === 'reshape') result = f.mutate(result);
    const violations = discovery.validateResponse(method.id, result);
    if (violations.length > 0) state.violations.push(`${method.id}: ${violations.join('; ')}`);
    if (faults.some((f) => f.kind === 'drop' && f.when === 'after')) return { kind: 'drop' };
    return { kind: 'answer', status: result === undefined ? 204 : 200, body: result, headers: {} };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const body = e.body();
    const shape = googleErrorShapeErrors(body);
    if (shape.length > 0) state.violations.push(`error body: ${shape.join('; ')}`);
    return { kind: 'answer', status: e.code, body, headers: e.extraHeaders };
  }
}

function resolveUser(state: GmailState, userId: string, authenticated: string): Mailbox {
  if (userId !== 'me' && userId.toLowerCase() !== authenticated.toLowerCase()) throw forbidden(`Delegation denied for ${authenticated}`);
  const mb = state.mailboxes.get(authenticated.toLowerCase());
  if (!mb) throw new ApiError(400, 'Precondition check failed.', 'failedPrecondition');
  return mb;
}

/** Applies the faults that act before the call; true when the connection is to be dropped. */
async function applyFaultsBefore(faults: Fault[], methodId: string): Promise<boolean> {
  for (const f of faults) {
    switch (f.kind) {
      case 'slow':
        await new Promise((r) => setTimeout(r, f.delayMs));
        break;
      case 'drop':
        if (f.when === 'before') return true;
        break;
      case 'status': {
        const reason = f.reason ?? (f.status === 429 ? 'rateLimitExceeded' : f.status >= 500 ? 'backendError' : 'failedPrecondition');
        const domain = f.status === 429 || /RateLimit/.test(reason) ? 'usageLimits' : 'global';
        const message = f.message ?? (f.status === 429 ? 'Too many concurrent requests for user' : f.status >= 500 ? 'Backend Error' : 'Injected fault');
        throw new ApiError(f.status, message, reason, domain);
      }
      case 'historyGone':
        if (methodId === 'gmail.users.history.list') throw notFound();
        break;
      case 'reshape':
        break;
    }
  }
  return false;
}
