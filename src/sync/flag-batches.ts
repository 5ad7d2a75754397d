// STORE on many messages: the write-back queue holds one flag change per message (the
// trigger fires per row), which would be one backend call each. Where the session can
// apply one flag change to many messages at once (Gmail batchModify: 50 units for up to
// 1000 ids, against 5 units per messages.modify), a run of consecutive queued flag changes
// with the same owned add/remove sets goes as one call. Only consecutive ones: the run ends
// at the first op of another kind or with other sets, so no change overtakes an earlier
// one; within a run, changes to different messages commute and a repeated one is the same.
import { AdapterError } from '../../adapters/contract';
import type { QueuedOp } from '../store/pg-backend-sync';
import type { ReplayOptions } from './writeback';

const isPlaceholder = (id: string): boolean => id.startsWith('pending:') || id.startsWith('mailbox:');

/** A run shorter than this goes op by op (one call either way). */
const MIN_RUN = 2;

interface FlagOp {
  kind: 'flags';
  folderId: string;
  id: string;
  add?: string[];
  remove?: string[];
}

/** The owned sets of a queued flag change as a comparable key, or null when it is not one. */
function runKey(op: Record<string, unknown>, owns: (flag: string) => boolean): { key: string; add: string[]; remove: string[]; target: { folderId: string; id: string } | null } | null {
  if (op.kind !== 'flags') return null;
  const f = op as unknown as FlagOp;
  const add = [...new Set((f.add ?? []).filter(owns))].sort();
  const remove = [...new Set((f.remove ?? []).filter(owns))].sort();
  // Nothing owned, or never written to the backend: completed without a call, as apply would.
  const inert = (add.length === 0 && remove.length === 0) || isPlaceholder(f.id) || isPlaceholder(f.folderId);
  return { key: JSON.stringify([add, remove]), add, remove, target: inert ? null : { folderId: f.folderId, id: f.id } };
}

export interface FlagBatchState {
  /** Queue ids already handled by a batch in this replay. */
  handled: Set<string>;
  /** Set after the backend refused a batch: the rest goes op by op. */
  disabled: boolean;
}

/**
 * Applies the run of flag changes that starts at `start` in one call when the session can
 * and the run is long enough. Returns the queue ids it completed, or null: go op by op.
 */
export async function replayFlagRun(o: ReplayOptions, ops: readonly QueuedOp[], start: number, state: FlagBatchState): Promise<string[] | null> {
  const session = o.session;
  if (state.disabled || !session.applyFlags || o.adapter.capabilities.commitOnClose === true) return null;
  const owns = o.adapter.ownsFlag ?? ((): boolean => false);
  const first = runKey(ops[start]!.op, owns);
  if (!first?.target) return null;
  const ids: string[] = [];
  const targets: Array<{ folderId: string; id: string }> = [];
  for (let i = start; i < ops.length; i++) {
    const k = runKey(ops[i]!.op, owns);
    if (!k) break;
    if (k.target === null) {
      ids.push(ops[i]!.id); // does nothing at the backend: does not end the run
      continue;
    }
    if (k.key !== first.key) break;
    ids.push(ops[i]!.id);
    targets.push(k.target);
  }
  if (targets.length < MIN_RUN) return null;
  try {
    await session.applyFlags(targets, first.add, first.remove);
  } catch (err) {
    if (err instanceof AdapterError && (err.kind === 'gone' || err.kind === 'unsupported' || err.kind === 'protocol')) {
      // Op by op, each with its own handling of a message gone meanwhile.
      o.log.warn({ accountId: o.accountId, ops: ids.length, err: err.message }, 'sync: batched flag write-back refused; replaying one by one');
      state.disabled = true;
      return null;
    }
    const message = err instanceof Error ? err.message : String(err);
    const wait = err instanceof AdapterError && err.retryAfterSeconds ? Math.max(err.retryAfterSeconds, 1) : Math.min(3600, 10 * 2 ** ops[start]!.attempts);
    // The whole run waits, so none of it overtakes the others when the queue resumes.
    for (const id of ids) await o.store.failOp(id, message, wait);
    throw err;
  }
  await o.store.completeOps(ids);
  for (const id of ids) state.handled.add(id);
  o.log.debug({ accountId: o.accountId, ops: ids.length, messages: targets.length }, 'sync: flag changes written back in one call');
  return ids;
}
