// One dispatcher for every request, direct or inside a $batch: faults first, then the login
// endpoints, then Graph (Bearer token, mailbox resolution, throttling accounting, the
// resource routes). Path segments are matched case-insensitively and `name('key')` is read as
// `name/key`, as Graph does.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { Auth, Principal } from './auth';
import { handleBatch } from './batch';
import { mailboxContext, MailboxContext } from './context';
import { DeltaService } from './delta';
import { Fault, Faults } from './faults';
import * as folders from './folders';
import { EmuRequest, EmuResponse, GraphError, errorResponse, json, notFound } from './http';
import * as messages from './messages';
import { EmulatorState, FolderRecord, Mailbox } from './state';
import { Subscriptions } from './subscriptions';

export type RouteResult = EmuResponse | { drop: true };

export interface RouterDeps {
  state: EmulatorState;
  faults: Faults;
  auth: Auth;
  subscriptions: Subscriptions;
  delta: DeltaService;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const notAllowed = (): GraphError => new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');

function segments(path: string): string[] {
  const out: string[] = [];
  for (const raw of path.split('/').filter((s) => s !== '')) {
    const seg = decodeURIComponent(raw);
    const m = /^([^(]+)\('(.*)'\)$/.exec(seg);
    if (m !== null) out.push(m[1], m[2].replace(/''/g, "'"));
    else out.push(seg);
  }
  return out;
}

function faultResponse(f: Fault): EmuResponse | undefined {
  switch (f.kind) {
    case 'throttle':
      return errorResponse(new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': String(f.retryAfterSeconds) }));
    case 'unavailable':
      return errorResponse(new GraphError(503, 'ServiceUnavailable', 'The service is temporarily unavailable. Please retry later.', f.retryAfterSeconds !== undefined ? { 'Retry-After': String(f.retryAfterSeconds) } : {}));
    case 'syncStateNotFound':
      return errorResponse(new GraphError(410, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be resynchronized.'));
    case 'expiredToken':
      return errorResponse(new GraphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    case 'error':
      return errorResponse(new GraphError(f.status, f.code, f.message));
    case 'delay':
    case 'drop':
      return undefined;
  }
}

export class Router {
  constructor(private readonly deps: RouterDeps) {}

  async dispatch(req: EmuRequest, inBatch = false): Promise<RouteResult> {
    const hasToken = req.query.has('$deltatoken') || req.query.has('$skiptoken');
    let delayMs = 0;
    for (const fault of this.deps.faults.take(req.method, req.path, (f) => (f.kind !== 'syncStateNotFound' || hasToken) && !(inBatch && f.kind === 'drop'))) {
      if (fault.kind === 'drop') return { drop: true };
      if (fault.kind === 'delay') {
        delayMs += fault.ms;
        continue;
      }
      return faultResponse(fault) as EmuResponse;
    }
    try {
      const login = this.deps.auth.handle(req);
      if (login !== undefined) {
        await sleep(delayMs);
        return login;
      }
      return await this.graph(req, inBatch, delayMs);
    } catch (err) {
      if (err instanceof GraphError) return errorResponse(err);
      console.error('graph emulator: unexpected error', err);
      return errorResponse(new GraphError(500, 'generalException', 'An unexpected error occurred in the emulator.'));
    }
  }

  /** `delayMs` (a slow-response fault) is spent while holding the mailbox's concurrency slot. */
  private async graph(req: EmuRequest, inBatch: boolean, delayMs: number): Promise<EmuResponse> {
    const seg = segments(req.path);
    const head = seg[1]?.toLowerCase();
    if (head !== 'me' && head !== 'users') await sleep(delayMs);
    if (seg[0] !== 'v1.0' && seg[0] !== 'beta') throw new GraphError(400, 'BadRequest', `Invalid version: ${seg[0] ?? ''}`);
    const rest = seg.slice(1);
    if (head === '$batch') {
      if (inBatch || req.method !== 'POST') throw notAllowed();
      return handleBatch(req, async (sub) => {
        const r = await this.dispatch(sub, true);
        return 'drop' in r ? errorResponse(new GraphError(503, 'ServiceUnavailable', 'The connection was lost.')) : r;
      });
    }
    const principal = this.deps.auth.authenticate(req);
    if (head === 'subscriptions') return this.deps.subscriptions.handle(req, principal, rest[1], rest[2]);
    let mailbox: Mailbox;
    let userPath: string;
    let routeRest: string[];
    if (head === 'me') {
      if (principal.kind !== 'user') throw new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      mailbox = principal.mailbox;
      userPath = `/${seg[0]}/me`;
      routeRest = rest.slice(1);
    } else if (head === 'users' && rest[1] !== undefined) {
      const mb = this.deps.state.mailbox(rest[1]);
      if (mb === undefined) throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${rest[1]}' is invalid.`);
      mailbox = mb;
      userPath = `/${seg[0]}/users/${encodeURIComponent(rest[1])}`;
      routeRest = rest.slice(2);
    } else {
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${rest[0] ?? ''}'.`);
    }
    this.authorize(principal, mailbox);
    const admitted = this.deps.faults.admit(mailbox.id);
    if ('retryAfter' in admitted) {
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': String(admitted.retryAfter) });
    }
    try {
      await sleep(delayMs);
      return await this.mailboxRoute(mailboxContext(req, this.deps.state, mailbox, userPath), routeRest);
    } finally {
      admitted.release();
    }
  }

  private authorize(principal: Principal, mailbox: Mailbox): void {
    if (principal.kind === 'user' && principal.mailbox !== mailbox) throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }

  private folder(ctx: MailboxContext, ref: string): FolderRecord {
    const f = ctx.mailbox.folder(ref);
    if (f === undefined) throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
    return f;
  }

  private async mailboxRoute(ctx: MailboxContext, r: string[]): Promise<EmuResponse> {
    const m = ctx.req.method;
    const lower = r.map((s) => s.toLowerCase());
    if (r.length === 0) {
      if (m !== 'GET') throw notAllowed();
      const user: MicrosoftGraph.User = { id: ctx.mailbox.id, displayName: ctx.mailbox.displayName, mail: ctx.mailbox.address, userPrincipalName: ctx.mailbox.address };
      return json(200, user);
    }
    if (lower[0] === 'sendmail' && r.length === 1) {
      if (m !== 'POST') throw notAllowed();
      return messages.sendMail(ctx);
    }
    if (lower[0] === 'mailfolders') {
      if (r.length === 1) {
        const root = ctx.mailbox.wellKnown('msgfolderroot');
        if (m === 'GET') return folders.listFolders(ctx, root);
        if (m === 'POST') return folders.createFolder(ctx, root);
        throw notAllowed();
      }
      const f = this.folder(ctx, r[1]);
      if (r.length === 2) {
        if (m === 'GET') return folders.getFolder(ctx, f);
        if (m === 'PATCH') return folders.patchFolder(ctx, f);
        if (m === 'DELETE') return folders.deleteFolder(ctx, f);
        throw notAllowed();
      }
      if (lower[2] === 'childfolders' && r.length === 3) {
        if (m === 'GET') return folders.listFolders(ctx, f);
        if (m === 'POST') return folders.createFolder(ctx, f);
        throw notAllowed();
      }
      if (lower[2] === 'move' && r.length === 3) {
        if (m === 'POST') return folders.moveFolder(ctx, f);
        throw notAllowed();
      }
      if (lower[2] === 'messages') {
        if (lower[3] === 'delta' && r.length === 4) {
          if (m !== 'GET') throw notAllowed();
          return this.deps.delta.handle(ctx, f);
        }
        return this.messageRoute(ctx, r.slice(3), f);
      }
    }
    if (lower[0] === 'messages') return this.messageRoute(ctx, r.slice(1), undefined);
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${r[r.length - 1]}'.`);
  }

  private async messageRoute(ctx: MailboxContext, r: string[], folder: FolderRecord | undefined): Promise<EmuResponse> {
    const m = ctx.req.method;
    if (r.length === 0) {
      if (m === 'GET') return messages.listMessages(ctx, folder);
      if (m === 'POST') return messages.createMessage(ctx, folder);
      throw notAllowed();
    }
    const msg = messages.findMessage(ctx, r[0]);
    if (r.length === 1) {
      if (m === 'GET') return messages.getMessage(ctx, msg);
      if (m === 'PATCH') return messages.patchMessage(ctx, msg);
      if (m === 'DELETE') return messages.deleteMessage(ctx, msg);
      throw notAllowed();
    }
    if (r.length === 2) {
      const action = r[1].toLowerCase();
      if (action === '$value' && m === 'GET') return messages.getMime(ctx, msg);
      if (action === 'move' && m === 'POST') return messages.moveMessage(ctx, msg);
      if (action === 'copy' && m === 'POST') return messages.copyMessage(ctx, msg);
      if (action === '$value' || action === 'move' || action === 'copy') throw notAllowed();
    }
    throw notFound(`Resource not found for the segment '${r[r.length - 1]}'.`);
  }
}
