// Inactivity limits of every connection on one timer (a hashed wheel of one-second slots)
// instead of a Node timer per socket: a connection only notes when it was last active, a
// plain number store on every read and write. A slot's connections are looked at when it
// comes due; one that was active meanwhile moves to the slot of its new deadline, so each
// connection is looked at about once per limit, not once per tick.

export interface Watched {
  /** When the connection was last active (ms, the wheel's clock). */
  lastActive: number;
  /** How long it may stay inactive; 0 = no limit. */
  timeoutMs: number;
  /** The slot the wheel filed the connection under (0: not watched), and where in it. The wheel's to set. */
  wheelSlot: number;
  wheelIndex: number;
  /** The limit passed: the wheel forgets the connection before calling this. */
  expired(): void;
}

export class InactivityWheel {
  /** Slot number -> connections filed under it (null: unwatched or filed elsewhere since). */
  private readonly slots = new Map<number, Array<Watched | null>>();
  private timer: NodeJS.Timeout | null = null;
  /** The first slot not looked at yet. */
  private next = 0;
  private watched = 0;

  constructor(
    private readonly slotMs = 1000,
    private readonly clock: () => number = Date.now,
  ) {}

  get now(): number {
    return this.clock();
  }

  /** Connections watched. */
  get size(): number {
    return this.watched;
  }

  /** (Re)files a connection under its current deadline (after its limit changed, too). */
  watch(entry: Watched): void {
    if (entry.timeoutMs <= 0) {
      this.unwatch(entry);
      return;
    }
    if (!this.timer) {
      this.next = this.slotOf(this.clock());
      this.timer = setInterval(() => this.tick(), this.slotMs);
      this.timer.unref();
    }
    const due = Math.max(this.slotOf(entry.lastActive + entry.timeoutMs), this.next);
    // Filed already no later than that: that slot files it again when it comes due.
    if (entry.wheelSlot !== 0 && entry.wheelSlot <= due) return;
    if (entry.wheelSlot === 0) this.watched++;
    else this.forget(entry);
    this.file(entry, due);
  }

  unwatch(entry: Watched): void {
    if (entry.wheelSlot === 0) return;
    // Not left in its slot: a closed connection must not stay reachable until the slot is due.
    this.forget(entry);
    entry.wheelSlot = 0;
    if (--this.watched === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.slots.clear();
    }
  }

  /** Looks at every slot that has come due (the interval calls this; tests may too). */
  tick(): void {
    const now = this.clock();
    const last = this.slotOf(now);
    for (; this.next <= last && this.timer; this.next++) {
      const list = this.slots.get(this.next);
      if (!list) continue;
      this.slots.delete(this.next);
      for (const entry of list) {
        if (entry === null || entry.wheelSlot !== this.next) continue;
        const deadline = entry.lastActive + entry.timeoutMs;
        if (deadline <= now) {
          this.unwatch(entry);
          entry.expired();
        } else this.file(entry, Math.max(this.slotOf(deadline), this.next + 1));
      }
    }
  }

  /** Slot k holds the times [(k - 1) * slotMs, k * slotMs): never 0, which means "not filed". */
  private slotOf(ms: number): number {
    return Math.floor(ms / this.slotMs) + 1;
  }

  private file(entry: Watched, slot: number): void {
    entry.wheelSlot = slot;
    const list = this.slots.get(slot);
    if (list) entry.wheelIndex = list.push(entry) - 1;
    else {
      this.slots.set(slot, [entry]);
      entry.wheelIndex = 0;
    }
  }

  private forget(entry: Watched): void {
    const list = this.slots.get(entry.wheelSlot);
    if (list && list[entry.wheelIndex] === entry) list[entry.wheelIndex] = null;
  }
}
