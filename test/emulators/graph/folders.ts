// Mail folders: list (top level = children of msgfolderroot, 10 per page like Graph, hidden
// ones only with includeHiddenFolders=true), get by id or well-known name, childFolders,
// create, rename (PATCH displayName), move, delete. Docs: user-list-mailfolders.md,
// mailfolder-list-childfolders.md, resources/mailfolder.md.
//
// Deleting a folder moves it into Deleted Items, as Outlook does; deleting it there removes
// it for good. Well-known folders cannot be deleted.
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { MailboxContext } from './context';
import { EmuResponse, GraphError, badRequest, intOption, json, jsonBody, link, noContent, project, selectList } from './http';
import { Annotated } from './render';
import { FolderRecord } from './state';

const PAGE = 10;

const FOLDER_PROPERTIES: ReadonlySet<string> = new Set<keyof MicrosoftGraph.MailFolder>([
  'id', 'displayName', 'parentFolderId', 'childFolderCount', 'unreadItemCount', 'totalItemCount', 'isHidden',
]);

export function renderFolder(ctx: MailboxContext, f: FolderRecord): Annotated<MicrosoftGraph.MailFolder> {
  const messages = ctx.mailbox.inFolder(f.id);
  const full: Annotated<MicrosoftGraph.MailFolder> = {
    id: f.id,
    displayName: f.displayName,
    parentFolderId: f.parentFolderId,
    childFolderCount: ctx.mailbox.children(f.id).length,
    unreadItemCount: messages.filter((m) => !m.isRead).length,
    totalItemCount: messages.length,
    isHidden: f.isHidden,
  };
  return project(full, selectList(ctx.req.query), FOLDER_PROPERTIES, 'microsoft.graph.mailFolder');
}

function nameFilter(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const m = /^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(raw);
  if (m === null) throw badRequest(`Invalid filter clause: ${raw}`, 'ErrorInvalidUrlQueryFilter');
  return m[1].replace(/''/g, "'");
}

/** GET mailFolders (parent = msgfolderroot) or mailFolders/{id}/childFolders. */
export function listFolders(ctx: MailboxContext, parent: FolderRecord): EmuResponse {
  const q = ctx.req.query;
  const top = intOption(q, '$top', PAGE, 1000);
  const skip = intOption(q, '$skip', 0, Number.MAX_SAFE_INTEGER);
  const name = nameFilter(q.get('$filter'));
  const hidden = q.get('includeHiddenFolders') === 'true';
  const all = ctx.mailbox.children(parent.id).filter((f) => (hidden || !f.isHidden) && (name === undefined || f.displayName === name));
  const page = all.slice(skip, skip + top);
  const body: Record<string, unknown> = { '@odata.context': `${ctx.req.origin}/v1.0/$metadata#Collection(mailFolder)`, value: page.map((f) => renderFolder(ctx, f)) };
  if (skip + top < all.length) {
    const next = new URLSearchParams(q);
    next.set('$skip', String(skip + top));
    next.set('$top', String(top));
    body['@odata.nextLink'] = link(ctx.req, ctx.req.path, next);
  }
  return json(200, body);
}

export function getFolder(ctx: MailboxContext, f: FolderRecord): EmuResponse {
  return json(200, renderFolder(ctx, f));
}

function checkName(ctx: MailboxContext, parentId: string, name: unknown, except?: FolderRecord): string {
  if (typeof name !== 'string' || name.trim() === '') throw badRequest("The parameter 'displayName' is required.", 'ErrorInvalidParameter');
  const clash = ctx.mailbox.children(parentId).some((f) => f !== except && f.displayName.toLowerCase() === name.toLowerCase());
  if (clash) throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
  return name;
}

export function createFolder(ctx: MailboxContext, parent: FolderRecord): EmuResponse {
  const body = jsonBody(ctx.req);
  const name = checkName(ctx, parent.id, body.displayName);
  const f = ctx.state.createFolder(ctx.mailbox, parent.id, name, body.isHidden === true);
  return json(201, renderFolder(ctx, f));
}

export function patchFolder(ctx: MailboxContext, f: FolderRecord): EmuResponse {
  const body = jsonBody(ctx.req);
  for (const key of Object.keys(body)) {
    if (key !== 'displayName') throw badRequest(`The property '${key}' can't be updated.`, 'ErrorInvalidPropertyUpdate');
  }
  if ('displayName' in body) ctx.state.renameFolder(ctx.mailbox, f, checkName(ctx, f.parentFolderId, body.displayName, f));
  return json(200, renderFolder(ctx, f));
}

function isUnder(ctx: MailboxContext, f: FolderRecord, ancestorId: string): boolean {
  for (let cur: FolderRecord | undefined = f; cur !== undefined; cur = ctx.mailbox.folders.get(cur.parentFolderId)) {
    if (cur.id === ancestorId) return true;
  }
  return false;
}

export function moveFolder(ctx: MailboxContext, f: FolderRecord): EmuResponse {
  const dest = jsonBody(ctx.req).destinationId;
  const target = typeof dest === 'string' ? ctx.mailbox.folder(dest) : undefined;
  if (target === undefined) throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
  if (f.wellKnownName !== undefined) throw new GraphError(403, 'ErrorMoveDistinguishedFolder', 'Distinguished folders cannot be moved.');
  if (isUnder(ctx, target, f.id)) throw badRequest('A folder cannot be moved into itself or one of its subfolders.', 'ErrorMoveCopyFailed');
  checkName(ctx, target.id, f.displayName, f);
  f.parentFolderId = target.id;
  return json(201, renderFolder(ctx, f));
}

export function deleteFolder(ctx: MailboxContext, f: FolderRecord): EmuResponse {
  if (f.wellKnownName !== undefined) throw new GraphError(403, 'ErrorDeleteDistinguishedFolder', 'Distinguished folders cannot be deleted.');
  const trash = ctx.mailbox.wellKnown('deleteditems');
  if (isUnder(ctx, f, trash.id)) ctx.state.deleteFolder(ctx.mailbox, f);
  else {
    // Into Deleted Items, renamed on a clash as Outlook does.
    let name = f.displayName;
    for (let i = 1; ctx.mailbox.children(trash.id).some((c) => c.displayName.toLowerCase() === name.toLowerCase()); i++) name = `${f.displayName} ${i}`;
    f.displayName = name;
    f.parentFolderId = trash.id;
  }
  return noContent();
}
