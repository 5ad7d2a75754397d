// Replaying the durable write-back queue (invariant 5): client changes, queued by triggers
// in the client's own transaction, go to the backend in the order they were made. Each op
// is completed (and any new backend id bound) in one transaction right after the backend
// accepted it, or, for backends that commit on close (POP3), after close(). A failure stops
// the replay, so later ops never overtake an earlier one; the op is retried with backoff.
import { AdapterError, type BackendAdapter, type BackendSession, type WriteBackOp, type WriteBackResult } from '../../adapters/contract';
import type { PgBackendSync, QueuedOp } from '../store/pg-backend-sync';
import { replayFlagRun, type FlagBatchState } from './flag-batches';
import type { SyncLogger } from './runner';

/** The op as the triggers queue it (folder and message ids may still be placeholders). */
type StoredOp =
  | { kind: 'expunge'; folderId: string; id: string }
  | { kind: 'flags'; folderId: string; id: string; add: string[]; remove: string[] }
  | { kind: 'move' | 'copy'; fromFolderId: string; toFolderId: string; id: string; placeholder?: string }
  | { kind: 'append'; folderId: string; placeholder: string; contentId?: string };

const isPlaceholder = (id: string): boolean => id.startsWith('pending:') || id.startsWith('mailbox:');

/** Retry delay after the n-th failure of one op (seconds). */
const retryDelay = (attempts: number): number => Math.min(3600, 10 * 2 ** attempts);

export interface ReplayOptions {
  accountId: string;
  store: PgBackendSync;
  adapter: BackendAdapter;
  session: BackendSession;
  log: SyncLogger;
  /**
   * POP3: the backend ids this session listed, per folder (a body is saved before DELE);
   * a folder left out did not change since the listing the store holds.
   */
  listed: Map<string, Set<string>> | null;
  stopped: () => boolean;
}

/** Replays due ops; returns the queue ids to complete after close() (commitOnClose backends). */
export async function replayWriteBack(o: ReplayOptions): Promise<string[]> {
  const afterClose: string[] = [];
  const commitOnClose = o.adapter.capabilities.commitOnClose === true;
  const owns = o.adapter.ownsFlag ?? ((): boolean => false);
  const batches: FlagBatchState = { handled: new Set(), disabled: false };
  for (;;) {
    // Up to 1000: a STORE on that many messages can then go as one batched call.
    const ops = await o.store.pendingOps(o.accountId, 1000);
    const fresh = ops.filter((q) => !afterClose.includes(q.id));
    if (fresh.length === 0) return afterClose;
    for (const [index, queued] of fresh.entries()) {
      if (o.stopped()) throw new AdapterError('unavailable', 'sync stopped');
      if (batches.handled.has(queued.id)) continue;
      if ((await replayFlagRun(o, fresh, index, batches)) !== null) continue;
      const stored = queued.op as unknown as StoredOp;
      try {
        const prepared = await prepare(o, stored, queued, owns);
        if (prepared === 'skip') {
          await o.store.completeWithBinding(o.accountId, queued.id, null);
          continue;
        }
        if (prepared === 'later') {
          await o.store.failOp(queued.id, 'waiting for its folder to be created at the backend', 5);
          return afterClose;
        }
        if (prepared.kind === 'expunge' && o.adapter.capabilities.delete && (o.listed?.get(prepared.folderId)?.has(prepared.id) ?? true)) {
          // Deleting at the backend must not lose a copy the client kept elsewhere.
          await saveBodyFirst(o, prepared.folderId, prepared.id);
        }
        const result: WriteBackResult | void = await o.session.apply(prepared);
        if (commitOnClose) {
          afterClose.push(queued.id);
          continue;
        }
        await o.store.completeWithBinding(o.accountId, queued.id, binding(stored, result));
      } catch (err) {
        if (err instanceof AdapterError && (err.kind === 'gone' || err.kind === 'unsupported')) {
          o.log.warn({ accountId: o.accountId, op: stored.kind, err: err.message }, 'sync: write-back dropped');
          const placeholder = 'placeholder' in stored ? stored.placeholder : undefined;
          const folderId = stored.kind === 'append' ? stored.folderId : 'toFolderId' in stored ? stored.toFolderId : null;
          if (placeholder && folderId) await o.store.dropPlaceholder(o.accountId, folderId, placeholder);
          if (commitOnClose) afterClose.push(queued.id);
          else await o.store.completeWithBinding(o.accountId, queued.id, null);
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        const wait = err instanceof AdapterError && err.retryAfterSeconds ? Math.max(err.retryAfterSeconds, 1) : retryDelay(queued.attempts);
        await o.store.failOp(queued.id, message, wait);
        throw err;
      }
    }
    if (commitOnClose) return afterClose;
  }
}

async function saveBodyFirst(o: ReplayOptions, folderId: string, id: string): Promise<void> {
  const contentId = await o.store.bodyNeededBeforeDelete(o.accountId, id);
  if (!contentId) return;
  await o.session.fetchRaw(folderId, [id], async (_id, raw) => {
    await o.store.storeBodies([{ contentId, raw }]);
  });
}

function binding(stored: StoredOp, result: WriteBackResult | void): { folderId: string; placeholder: string; id: string } | null {
  if (!result?.id) return null;
  if (stored.kind === 'append') return { folderId: stored.folderId, placeholder: stored.placeholder, id: result.id };
  if ((stored.kind === 'copy' || stored.kind === 'move') && stored.placeholder) return { folderId: stored.toFolderId, placeholder: stored.placeholder, id: result.id };
  return null;
}

/** The op to send, 'skip' when there is nothing to do, 'later' when a folder is still pending. */
async function prepare(o: ReplayOptions, stored: StoredOp, queued: QueuedOp, owns: (flag: string) => boolean): Promise<WriteBackOp | 'skip' | 'later'> {
  switch (stored.kind) {
    case 'expunge':
      // Never written to the backend (its append was dropped): nothing to delete there.
      return isPlaceholder(stored.id) || isPlaceholder(stored.folderId) ? 'skip' : stored;
    case 'flags': {
      if (isPlaceholder(stored.id) || isPlaceholder(stored.folderId)) return 'skip';
      const add = (stored.add ?? []).filter(owns);
      const remove = (stored.remove ?? []).filter(owns);
      if (add.length === 0 && remove.length === 0) return 'skip';
      const current = await o.store.currentFlags(o.accountId, stored.folderId, stored.id);
      return { kind: 'flags', folderId: stored.folderId, id: stored.id, add, remove, ...(current ? { flags: current.filter(owns) } : {}) };
    }
    case 'move':
    case 'copy': {
      if (isPlaceholder(stored.toFolderId)) return 'later';
      if (isPlaceholder(stored.id) || isPlaceholder(stored.fromFolderId)) return 'skip';
      const flags = stored.placeholder ? await o.store.currentFlags(o.accountId, stored.toFolderId, stored.placeholder) : null;
      if (stored.kind === 'move') return { kind: 'move', fromFolderId: stored.fromFolderId, toFolderId: stored.toFolderId, id: stored.id };
      return { kind: 'copy', fromFolderId: stored.fromFolderId, toFolderId: stored.toFolderId, id: stored.id, ...(flags ? { flags: flags.filter(owns) } : {}) };
    }
    case 'append': {
      if (isPlaceholder(stored.folderId)) return 'later';
      const source = await o.store.appendSource(o.accountId, stored.folderId, stored.placeholder);
      if (!source) return 'skip'; // expunged again before it was written back
      if (!source.raw) throw new AdapterError('unavailable', 'the message to append has no cached body yet');
      return { kind: 'append', folderId: stored.folderId, raw: source.raw, flags: source.flags.filter(owns), internalDate: source.internalDate, retry: queued.attempts > 0 };
    }
    default: {
      const never: never = stored;
      throw new AdapterError('unsupported', `unknown write-back ${JSON.stringify(never)}`);
    }
  }
}
