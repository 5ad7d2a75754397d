// users.watch / users.stop and the Cloud Pub/Sub push that follows a mailbox change
// (https://developers.google.com/gmail/api/guides/push). A watch names a topic; a topic the
// emulator knows has push subscriptions; each change to a watched mailbox is POSTed to each
// subscription's endpoint in Pub/Sub's push format, retried with backoff until a 2xx:
//   {"message": {"data": base64({"emailAddress", "historyId"}), "messageId", "publishTime"},
//    "subscription": "projects/<p>/subscriptions/<s>"}
// Changes within the same tick are coalesced into one notification (the newest historyId).

import crypto from 'node:crypto';
import { ApiError, badRequest } from './errors';
import type { HistoryRecord } from './history';
import type { Mailbox } from './messages';

export interface PushSubscription {
  topicName: string;
  subscription: string;
  endpoint: string;
  /** Sent as "Authorization: Bearer <token>", as an authenticated push subscription would. */
  bearerToken?: string;
}

export interface WatchRequestBody {
  topicName?: string;
  labelIds?: string[];
  labelFilterAction?: 'include' | 'exclude';
  labelFilterBehavior?: 'include' | 'exclude';
}

interface ActiveWatch {
  topicName: string;
  labelIds: string[];
  behavior: 'include' | 'exclude';
  expiration: number;
}

export interface PushDelivery {
  email: string;
  historyId: string;
  endpoint: string;
  attempt: number;
  status: number | string;
}

const WATCH_LIFETIME_MS = 7 * 24 * 3600 * 1000;

export class WatchHub {
  private readonly subscriptions: PushSubscription[] = [];
  private readonly watches = new Map<string, ActiveWatch>();
  private readonly pending = new Map<string, number>();
  readonly deliveries: PushDelivery[] = [];
  /** Delays between push attempts (Pub/Sub backs off); one attempt more than entries. */
  retryDelaysMs = [100, 400, 1600];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly now: () => number) {}

  addSubscription(sub: PushSubscription): void {
    this.subscriptions.push(sub);
  }

  watch(mailbox: Mailbox, body: WatchRequestBody): { historyId: string; expiration: string } {
    const topic = body.topicName;
    if (!topic) throw badRequest('Invalid topicName');
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(topic)) throw badRequest(`Invalid topicName does not match projects/SOME-ANDROID-PROJECT/topics/*`);
    if (!this.subscriptions.some((s) => s.topicName === topic)) throw new ApiError(404, `Resource not found (resource=${topic.split('/').pop()}).`, 'notFound');
    for (const id of body.labelIds ?? []) if (!mailbox.labels.get(id)) throw badRequest(`Invalid label: ${id}`);
    const expiration = this.now() + WATCH_LIFETIME_MS;
    this.watches.set(mailbox.email, {
      topicName: topic,
      labelIds: body.labelIds ?? [],
      behavior: body.labelFilterBehavior ?? body.labelFilterAction ?? 'include',
      expiration,
    });
    return { historyId: String(mailbox.history.current()), expiration: String(expiration) };
  }

  stop(email: string): void {
    this.watches.delete(email);
  }

  isWatching(email: string): boolean {
    const w = this.watches.get(email);
    return w !== undefined && w.expiration > this.now();
  }

  /** Mailbox listener: schedules a notification when the change passes the label filter. */
  onRecord(mailbox: Mailbox, rec: HistoryRecord): void {
    const w = this.watches.get(mailbox.email);
    if (!w || w.expiration <= this.now() || this.closed) return;
    if (w.labelIds.length > 0) {
      const touches = [...rec.labelsAfter, ...rec.changed].some((l) => w.labelIds.includes(l));
      if (touches !== (w.behavior === 'include')) return;
    }
    const first = !this.pending.has(mailbox.email);
    this.pending.set(mailbox.email, rec.id);
    if (first) {
      setImmediate(() => {
        const historyId = this.pending.get(mailbox.email);
        this.pending.delete(mailbox.email);
        if (historyId !== undefined) this.publish(mailbox.email, w.topicName, String(historyId));
      });
    }
  }

  private publish(email: string, topicName: string, historyId: string): void {
    const data = Buffer.from(JSON.stringify({ emailAddress: email, historyId: Number(historyId) })).toString('base64');
    const messageId = String(crypto.randomInt(1e12, 9e12));
    const publishTime = new Date(this.now()).toISOString();
    for (const sub of this.subscriptions.filter((s) => s.topicName === topicName)) {
      const body = JSON.stringify({
        message: { data, messageId, message_id: messageId, publishTime, publish_time: publishTime },
        subscription: sub.subscription,
      });
      const p = this.deliver(sub, body, email, historyId);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private async deliver(sub: PushSubscription, body: string, email: string, historyId: string): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (sub.bearerToken) headers.authorization = `Bearer ${sub.bearerToken}`;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return;
      let status: number | string;
      try {
        const res = await fetch(sub.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        status = res.status;
      } catch (e) {
        status = (e as Error).message;
      }
      this.deliveries.push({ email, historyId, endpoint: sub.endpoint, attempt, status });
      const delay = this.retryDelaysMs[attempt - 1];
      if ((typeof status === 'number' && status >= 200 && status < 300) || delay === undefined) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, delay);
        this.sleepers.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.sleepers]) wake();
    await Promise.allSettled([...this.inFlight]);
  }
}
