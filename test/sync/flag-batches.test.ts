// Coalescing queued flag changes into batched calls (Gmail batchModify): only consecutive
// changes with the same owned sets go together, so the order of the client's changes is
// kept; inert ones (nothing owned, never written back) do not end a run; a session without
// applyFlags, a refused batch and a single change go op by op.
import assert from 'node:assert/strict';
import { AdapterError, type BackendAdapter, type BackendSession, type WriteBackOp } from '../../adapters/contract';
import type { PgBackendSync, QueuedOp } from '../../src/store/pg-backend-sync';
import { replayWriteBack } from '../../src/sync/writeback';

type Call = { kind: 'batch'; ids: string[]; add: string[]; remove: string[] } | { kind: 'one'; op: WriteBackOp };

const OWNED = new Set(['\\seen', '\\flagged']);

function setup(ops: Array<Record<string, unknown>>, opts: { batching?: boolean; refuseBatch?: AdapterError } = {}) {
  let queue: QueuedOp[] = ops.map((op, i) => ({ id: String(i + 1), op, attempts: 0 }));
  const calls: Call[] = [];
  const failed: string[] = [];
  const store = {
    pendingOps: async (_a: string, limit: number) => queue.slice(0, limit),
    completeOps: async (ids: readonly string[]) => void (queue = queue.filter((q) => !ids.includes(q.id))),
    completeWithBinding: async (_a: string, id: string) => void (queue = queue.filter((q) => q.id !== id)),
    failOp: async (id: string) => void failed.push(id),
    currentFlags: async () => null,
  } as unknown as PgBackendSync;
  const session: BackendSession = {
    listFolders: async () => [],
    changes: async () => ({ kind: 'delta', changes: [], cursor: '' }),
    fetchRaw: async () => undefined,
    apply: async (op) => void calls.push({ kind: 'one', op }),
    close: async () => undefined,
    abort: () => undefined,
    ...(opts.batching === false
      ? {}
      : {
          applyFlags: async (targets: ReadonlyArray<{ folderId: string; id: string }>, add: readonly string[], remove: readonly string[]) => {
            if (opts.refuseBatch) throw opts.refuseBatch;
            calls.push({ kind: 'batch', ids: targets.map((t) => t.id), add: [...add], remove: [...remove] });
          },
        }),
  };
  const adapter = {
    kind: 'fake',
    capabilities: { folders: true, labels: true, serverFlags: true, keywords: false, move: true, append: true, send: false, push: false, changeCursors: true, delete: true },
    connect: async () => session,
    probe: async () => undefined,
    stats: { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 },
    ownsFlag: (f: string) => OWNED.has(f.toLowerCase()),
  } as BackendAdapter;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const run = (): Promise<string[]> => replayWriteBack({ accountId: '1', store, adapter, session, log, listed: null, stopped: () => false });
  return { run, calls, failed, queue: () => queue };
}

const flags = (id: string, add: string[], remove: string[] = [], folderId = 'INBOX'): Record<string, unknown> => ({ kind: 'flags', folderId, id, add, remove });

describe('write-back: flag changes coalesced into batched calls', () => {
  it('a run with the same sets is one call; a different change in between splits it, in order', async () => {
    const t = setup([
      flags('a', ['\\Seen']),
      flags('b', ['\\Seen']),
      flags('c', ['\\Seen']),
      flags('b', [], ['\\Seen']),
      flags('d', ['\\Seen']),
      flags('e', ['\\Seen']),
      { kind: 'move', fromFolderId: 'INBOX', toFolderId: 'Label_1', id: 'd' },
      flags('f', ['\\Seen']),
      flags('g', ['\\Seen']),
    ]);
    await t.run();
    assert.deepEqual(
      t.calls.map((c) => (c.kind === 'batch' ? `batch ${c.ids.join(',')} +${c.add} -${c.remove}` : `${c.op.kind} ${'id' in c.op ? c.op.id : ''}`)),
      ['batch a,b,c +\\Seen -', 'flags b', 'batch d,e +\\Seen -', 'move d', 'batch f,g +\\Seen -'],
    );
    assert.equal(t.queue().length, 0, 'every op completed');
  });

  it('keywords the backend does not own are left out of the key; inert changes do not end a run', async () => {
    const t = setup([
      flags('a', ['\\Seen', '$Work']),
      flags('b', ['\\Seen']),
      flags('c', ['$Work']), // nothing owned: completed without a call
      flags('pending:7', ['\\Seen']), // never written to the backend
      flags('d', ['\\Seen'], [], 'ALL_MAIL'),
    ]);
    await t.run();
    assert.deepEqual(t.calls, [{ kind: 'batch', ids: ['a', 'b', 'd'], add: ['\\Seen'], remove: [] }]);
    assert.equal(t.queue().length, 0);
  });

  it('without applyFlags, or for a single change, op by op', async () => {
    const t = setup([flags('a', ['\\Seen']), flags('b', ['\\Seen'])], { batching: false });
    await t.run();
    assert.deepEqual(t.calls.map((c) => c.kind), ['one', 'one']);
    const single = setup([flags('a', ['\\Seen']), flags('b', ['\\Flagged'])]);
    await single.run();
    assert.deepEqual(single.calls.map((c) => c.kind), ['one', 'one']);
  });

  it('a batch the backend refuses goes op by op; an unavailable backend leaves the whole run queued', async () => {
    const t = setup([flags('a', ['\\Seen']), flags('b', ['\\Seen']), flags('c', ['\\Seen'])], { refuseBatch: new AdapterError('protocol', 'no') });
    await t.run();
    assert.deepEqual(t.calls.map((c) => (c.kind === 'one' && 'id' in c.op ? c.op.id : c.kind)), ['a', 'b', 'c']);
    const down = setup([flags('a', ['\\Seen']), flags('b', ['\\Seen'])], { refuseBatch: new AdapterError('unavailable', 'down') });
    await assert.rejects(down.run(), /down/);
    assert.deepEqual(down.failed, ['1', '2']);
    assert.equal(down.queue().length, 2);
  });
});
