// Graph change notifications (concepts/webhooks.md, change-notifications-delivery-webhooks.md):
// one subscription per mail folder, on users/{mailbox}/mailFolders('{id}')/messages, so that
// each notification names the one folder whose delta to run (a subscription on the whole
// mailbox names only a message id, and a moved or deleted message's folder cannot be read
// back: every notification would cost a delta of every folder). The notification and the
// lifecycle notifications go to the same URL; clientState is the engine's secret.
import { timingSafeEqual } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { AdapterError, type PushRequest, type PushSubscription, type PushTrigger } from '../contract';
import type { GraphApi } from './client';

/** The longest Graph allows for Outlook messages. */
export const MAX_SUBSCRIPTION_MINUTES = 4230;

export interface GraphPushSettings {
  /** Subscriptions are made (account setting `push`, default true). */
  enabled: boolean;
  /** Lifetime asked for at creation and at each renewal (setting `subscriptionMinutes`). */
  minutes: number;
}

export function graphPushSettings(raw: Record<string, unknown>): GraphPushSettings {
  const m = raw.subscriptionMinutes;
  // A little under the limit: Graph measures it against its own clock.
  const minutes = typeof m === 'number' && Number.isFinite(m) && m > 0 ? Math.min(m, MAX_SUBSCRIPTION_MINUTES) : MAX_SUBSCRIPTION_MINUTES - 30;
  return { enabled: raw.push !== false, minutes };
}

const IMMUTABLE = 'IdType="ImmutableId"';

function expiry(s: GraphPushSettings): string {
  return new Date(Date.now() + s.minutes * 60_000).toISOString();
}

function toSubscription(sub: MicrosoftGraph.Subscription, secret: string, folderId: string): PushSubscription {
  if (!sub.id || !sub.expirationDateTime) throw new AdapterError('protocol', 'Graph answered a subscription without id or expirationDateTime');
  return { id: sub.id, expiresAt: new Date(sub.expirationDateTime), secret, folderId };
}

/** POST /subscriptions: Graph validates the URL (validationToken) before it answers. */
export async function createSubscription(api: GraphApi, s: GraphPushSettings, mailbox: string, request: PushRequest): Promise<PushSubscription> {
  const folderId = request.folderId;
  if (!folderId) throw new AdapterError('unsupported', 'Graph subscriptions are made per folder');
  const body: MicrosoftGraph.Subscription = {
    changeType: 'created,updated,deleted',
    notificationUrl: request.url,
    lifecycleNotificationUrl: request.url,
    resource: `users/${encodeURIComponent(mailbox)}/mailFolders('${folderId.replace(/'/g, "''")}')/messages`,
    expirationDateTime: expiry(s),
    clientState: request.secret,
  };
  // Immutable ids in the notifications, as in the deltas they trigger.
  const sub = await api.post<MicrosoftGraph.Subscription>('/subscriptions', body, { Prefer: IMMUTABLE });
  return toSubscription(sub, request.secret, folderId);
}

/** PATCH the expiry (which also reauthorizes); a subscription Graph no longer has is made again. */
export async function renewSubscription(api: GraphApi, s: GraphPushSettings, mailbox: string, current: PushSubscription, request: PushRequest): Promise<PushSubscription> {
  try {
    const sub = await api.patch<MicrosoftGraph.Subscription>(`/subscriptions/${encodeURIComponent(current.id)}`, { expirationDateTime: expiry(s) });
    return toSubscription(sub, current.secret, current.folderId ?? request.folderId ?? '');
  } catch (err) {
    if (err instanceof AdapterError && err.kind === 'gone') return createSubscription(api, s, mailbox, request);
    throw err;
  }
}

export async function deleteSubscription(api: GraphApi, sub: PushSubscription): Promise<void> {
  try {
    await api.delete(`/subscriptions/${encodeURIComponent(sub.id)}`);
  } catch (err) {
    if (!(err instanceof AdapterError && err.kind === 'gone')) throw err;
  }
}

function sameSecret(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A notification collection for this subscription: genuine when a notification carries its
 * id and its clientState (others are ignored, as the documentation asks). Change
 * notifications and `missed` ask for a delta of the folder (the delta from the saved
 * cursor brings every change, so duplicates and reordering do no harm);
 * reauthorizationRequired asks for a renewal and subscriptionRemoved for a new subscription.
 */
export function parseNotifications(body: Buffer, sub: PushSubscription): PushTrigger | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const value = (parsed as { value?: unknown } | null)?.value;
  if (!Array.isArray(value)) return null;
  let genuine = false;
  let subscription: PushTrigger['subscription'];
  for (const n of value as Array<Partial<MicrosoftGraph.ChangeNotification> | null>) {
    if (!n || typeof n !== 'object' || n.subscriptionId !== sub.id || !sameSecret(n.clientState, sub.secret)) continue;
    genuine = true;
    if (n.lifecycleEvent === 'subscriptionRemoved') subscription = 'recreate';
    else if (n.lifecycleEvent === 'reauthorizationRequired' && subscription === undefined) subscription = 'renew';
  }
  if (!genuine) return null;
  return { folderIds: sub.folderId ? [sub.folderId] : [], ...(subscription ? { subscription } : {}) };
}
