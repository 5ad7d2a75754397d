// One Sender per account, kept between messages while the account's sending settings and
// secrets stay the same: an SMTP relay's connections and a backend's access token are
// reused instead of opened anew for every message. A Sender unused for `idleMs` is closed
// (relays drop idle connections after a few minutes anyway); a changed fingerprint (new
// relay settings, a new password, rotated tokens saved by another process) replaces it.
import type { Envelope, SendAttempt, Sender, SenderCapabilities, SendResult } from './ports';

interface Kept {
  fingerprint: string;
  sender: Sender;
  lastUsed: number;
  inFlight: number;
}

export class SenderPool {
  private readonly kept = new Map<string, Kept>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly idleMs = 30_000) {}

  /**
   * A handle on the account's Sender: built by `make` on the first send (so routing a
   * message at submission opens nothing); its close() leaves the Sender to the pool.
   */
  handle(accountId: string, fingerprint: string, capabilities: SenderCapabilities, make: () => Sender): Sender {
    return {
      capabilities,
      send: async (envelope: Envelope, raw: Buffer, attempt?: SendAttempt): Promise<SendResult> => {
        const k = this.take(accountId, fingerprint, make);
        k.inFlight++;
        try {
          return await k.sender.send(envelope, raw, attempt);
        } finally {
          k.inFlight--;
          k.lastUsed = Date.now();
        }
      },
      close: () => undefined,
    };
  }

  /** The Sender saved new secrets itself: keep it under the new fingerprint. */
  rekey(accountId: string, fingerprint: string): void {
    const k = this.kept.get(accountId);
    if (k) k.fingerprint = fingerprint;
  }

  private take(accountId: string, fingerprint: string, make: () => Sender): Kept {
    const k = this.kept.get(accountId);
    if (k && k.fingerprint === fingerprint) return k;
    if (k) this.retire(accountId, k);
    const fresh: Kept = { fingerprint, sender: make(), lastUsed: Date.now(), inFlight: 0 };
    this.kept.set(accountId, fresh);
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(1000, this.idleMs / 2));
    this.sweeper.unref();
    return fresh;
  }

  /** Closes a replaced Sender once its sends in flight are done. */
  private retire(accountId: string, k: Kept): void {
    this.kept.delete(accountId);
    const closeWhenIdle = (): void => {
      if (k.inFlight > 0) setTimeout(closeWhenIdle, 1000).unref();
      else k.sender.close?.();
    };
    closeWhenIdle();
  }

  private sweep(): void {
    const old = Date.now() - this.idleMs;
    for (const [id, k] of this.kept) if (k.inFlight === 0 && k.lastUsed < old) this.retire(id, k);
    if (this.kept.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const [id, k] of this.kept) this.retire(id, k);
  }
}
