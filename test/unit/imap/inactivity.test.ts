// The inactivity wheel (src/imap/inactivity.ts): one timer for every connection's limit.
import assert from 'node:assert/strict';
import { InactivityWheel, type Watched } from '../../../src/imap/inactivity';

class Conn implements Watched {
  lastActive: number;
  wheelSlot = 0;
  wheelIndex = 0;
  expiredAt: number | null = null;
  constructor(
    private readonly clock: { now: number },
    public timeoutMs: number,
  ) {
    this.lastActive = clock.now;
  }
  expired(): void {
    this.expiredAt = this.clock.now;
  }
}

describe('inactivity wheel', () => {
  const clock = { now: 5_000_000 };
  let wheel: InactivityWheel;
  beforeEach(() => {
    clock.now = 5_000_000;
    wheel = new InactivityWheel(1000, () => clock.now);
  });
  afterEach(() => {
    // Stops the wheel's interval: nothing is left watched.
    for (let i = 0; i < 10 && wheel.size > 0; i++) {
      clock.now += 10_000_000;
      wheel.tick();
    }
  });

  function advance(ms: number, step = 250): void {
    for (let t = 0; t < ms; t += step) {
      clock.now += step;
      wheel.tick();
    }
  }

  it('expires a silent connection within a slot of its limit, and only once', () => {
    const c = new Conn(clock, 3000);
    wheel.watch(c);
    advance(2750);
    assert.equal(c.expiredAt, null);
    advance(1500);
    assert.ok(c.expiredAt !== null && c.expiredAt - 5_000_000 >= 3000 && c.expiredAt - 5_000_000 <= 4000, String(c.expiredAt));
    const first = c.expiredAt;
    advance(5000);
    assert.equal(c.expiredAt, first);
    assert.equal(wheel.size, 0);
  });

  it('keeps a connection that was active meanwhile, counting from its last activity', () => {
    const c = new Conn(clock, 3000);
    wheel.watch(c);
    for (let i = 0; i < 10; i++) {
      advance(1000);
      c.lastActive = clock.now;
    }
    assert.equal(c.expiredAt, null);
    const quietSince = clock.now;
    advance(5000);
    assert.ok(c.expiredAt !== null && c.expiredAt - quietSince >= 3000 && c.expiredAt - quietSince <= 4000);
  });

  it('takes a longer limit (login) and a shorter one as they are set', () => {
    const long = new Conn(clock, 2000);
    wheel.watch(long);
    long.timeoutMs = 60_000;
    wheel.watch(long);
    const short = new Conn(clock, 60_000);
    wheel.watch(short);
    short.timeoutMs = 2000;
    wheel.watch(short);
    advance(5000);
    assert.equal(long.expiredAt, null);
    assert.notEqual(short.expiredAt, null);
    advance(60_000, 1000);
    assert.notEqual(long.expiredAt, null);
  });

  it('forgets unwatched connections and a limit of 0', () => {
    const a = new Conn(clock, 1000);
    const b = new Conn(clock, 1000);
    wheel.watch(a);
    wheel.watch(b);
    wheel.unwatch(a);
    b.timeoutMs = 0;
    wheel.watch(b);
    assert.equal(wheel.size, 0);
    advance(5000);
    assert.equal(a.expiredAt, null);
    assert.equal(b.expiredAt, null);
  });

  it('lets go of a connection as soon as it is unwatched', () => {
    const held = new WeakRef(new Conn(clock, 60_000));
    wheel.watch(held.deref()!);
    const other = new Conn(clock, 60_000);
    wheel.watch(other);
    wheel.unwatch(held.deref()!);
    const slots = (wheel as unknown as { slots: Map<number, unknown[]> }).slots;
    assert.ok([...slots.values()].every((list) => !list.includes(held.deref())));
    assert.equal(wheel.size, 1);
  });

  it('looks at each connection about once per limit, not once per tick', () => {
    const conns = Array.from({ length: 1000 }, () => new Conn(clock, 30_000));
    for (const c of conns) wheel.watch(c);
    let looks = 0;
    for (const c of conns) {
      let last = c.lastActive;
      Object.defineProperty(c, 'lastActive', {
        get: () => {
          looks++;
          return last;
        },
        set: (v: number) => (last = v),
      });
    }
    advance(29_000, 1000);
    assert.equal(looks, 0);
    advance(2000, 1000);
    assert.ok(conns.every((c) => c.expiredAt !== null));
    assert.ok(looks <= 2000, `looked ${looks} times`);
  });
});
