// Store events: delivered synchronously to this process's subscribers, and across
// processes through Postgres LISTEN/NOTIFY (design: "Scale-out"). Events are hints
// (sessions catch up by MODSEQ), so a notification lost while the listener reconnects
// costs latency, never correctness.
import { randomUUID } from 'node:crypto';
import { Client, Pool, type ClientConfig } from 'pg';
import type { StoreEvent } from '../core/events';
import type { EventBus, EventHandler } from '../core/ports';

export const NOTIFY_CHANNEL = 'memgate_events';
/** PostgreSQL rejects NOTIFY payloads of 8000 bytes or more. */
export const MAX_NOTIFY_BYTES = 7900;

/** The subscriber registry both buses share. */
class LocalFanout {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  subscribe(userId: string, handler: EventHandler): () => void {
    let set = this.handlers.get(userId);
    if (!set) this.handlers.set(userId, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(userId) === set) this.handlers.delete(userId);
    };
  }

  deliver(event: StoreEvent): void {
    const set = this.handlers.get(event.userId);
    if (!set) return;
    // Copy: a handler may unsubscribe while we iterate. One failing handler must not
    // keep the event from the others.
    for (const handler of [...set]) {
      try {
        handler(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
  }
}

/** Single-process bus for unit tests and single-node setups without cross-process needs. */
export class InProcessEventBus implements EventBus {
  readonly origin = randomUUID();
  private readonly fanout: LocalFanout;

  constructor(onError: (err: unknown) => void = () => undefined) {
    this.fanout = new LocalFanout(onError);
  }

  async publish(event: StoreEvent): Promise<void> {
    this.fanout.deliver({ ...event, origin: this.origin });
  }

  subscribe(userId: string, handler: EventHandler): () => void {
    return this.fanout.subscribe(userId, handler);
  }

  async close(): Promise<void> {
    this.fanout.clear();
  }
}

export interface PgEventBusOptions {
  /** Reports failed NOTIFYs, listener reconnects and throwing handlers. */
  onError?: (err: unknown) => void;
}

export class PgEventBus implements EventBus {
  /** Identifies this process in payloads, to drop the echo of its own NOTIFYs. */
  readonly origin = randomUUID();
  private readonly fanout: LocalFanout;
  private readonly pool: Pool;
  private listener: Client | null = null;
  private closed = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Resolves when the listener is (re)connected; tests use it to wait for recovery. */
  private listening: Promise<void> = Promise.resolve();

  private constructor(
    private readonly config: ClientConfig,
    private readonly onError: (err: unknown) => void,
  ) {
    this.fanout = new LocalFanout(onError);
    // Two connections are plenty for NOTIFY; a pool survives dropped connections.
    this.pool = new Pool({ ...config, max: 2 });
    this.pool.on('error', onError);
  }

  static async create(connection: string | ClientConfig, options: PgEventBusOptions = {}): Promise<PgEventBus> {
    const config = typeof connection === 'string' ? { connectionString: connection } : connection;
    const bus = new PgEventBus(config, options.onError ?? (() => undefined));
    try {
      await bus.listen();
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }

  async publish(event: StoreEvent): Promise<void> {
    const stamped: StoreEvent = { ...event, origin: this.origin };
    this.fanout.deliver(stamped);
    if (this.closed) return;
    try {
      for (const payload of notifyPayloads(stamped)) {
        await this.pool.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, payload]);
      }
    } catch (err) {
      // The change is committed already; other processes catch up on their next event.
      this.onError(err);
    }
  }

  subscribe(userId: string, handler: EventHandler): () => void {
    return this.fanout.subscribe(userId, handler);
  }

  /** Resolves once the LISTEN connection is up (again). */
  whenListening(): Promise<void> {
    return this.listening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.fanout.clear();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ ...this.config, application_name: `memgate-events:${this.origin}` });
    client.on('notification', (msg) => {
      if (msg.channel === NOTIFY_CHANNEL && msg.payload) this.receive(msg.payload);
    });
    const lost = (err?: unknown) => {
      if (this.listener !== client) return;
      this.listener = null;
      if (err) this.onError(err);
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
    this.reconnectDelayMs = 100;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    let resolve!: () => void;
    this.listening = new Promise((r) => (resolve = r));
    const attempt = () => {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (this.closed) return resolve();
        this.listen().then(resolve, (err: unknown) => {
          this.onError(err);
          this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
          attempt();
        });
      }, this.reconnectDelayMs);
    };
    attempt();
  }

  private receive(payload: string): void {
    let event: StoreEvent;
    try {
      event = JSON.parse(payload) as StoreEvent;
    } catch (err) {
      this.onError(err);
      return;
    }
    if (typeof event !== 'object' || event === null || typeof event.userId !== 'string' || typeof event.kind !== 'string') return;
    if (event.origin === this.origin) return; // already delivered in-process by publish()
    this.fanout.deliver(event);
  }
}

/** The NOTIFY payloads for one event: one, or several when its UID list is too long. */
export function notifyPayloads(event: StoreEvent): string[] {
  const whole = JSON.stringify(event);
  if (Buffer.byteLength(whole) <= MAX_NOTIFY_BYTES || !('uids' in event)) return [whole];
  const base = Buffer.byteLength(JSON.stringify({ ...event, uids: [] }));
  // UIDs are at most 10 digits, plus a comma each.
  const perPayload = Math.max(1, Math.floor((MAX_NOTIFY_BYTES - base) / 11));
  const payloads: string[] = [];
  for (let i = 0; i < event.uids.length; i += perPayload) {
    payloads.push(JSON.stringify({ ...event, uids: event.uids.slice(i, i + perPayload) }));
  }
  return payloads;
}
