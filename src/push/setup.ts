// Push from the settings: the hub the sync engine keeps subscriptions with (only when a
// public URL is set: without one no backend can reach memgate, so polling is the only
// mode), and the listener (only when a port is set; a process without one still makes
// subscriptions whose deliveries another process's listener takes).
import { createHmac } from 'node:crypto';
import type { Config } from '../config/schema';
import type { PgPushStore } from '../store/push-subscriptions';
import { DEFAULT_PUSH_SETTINGS, PushHub, type PushSettings } from '../sync/push';
import { startPushListener, type ListeningPush, type PushListenerDeps, type PushLogger } from './server';

export interface PushOverrides {
  /** 'ephemeral' in tests. */
  port?: number | 'ephemeral';
  /** 'listener': this process's own listener URL (tests, demos on one machine). */
  publicUrl?: string | 'listener';
  /** Renewal and retry timings (tests shorten them). */
  settings?: Partial<Omit<PushSettings, 'publicUrl'>>;
}

/** The Gmail Pub/Sub endpoint's secret: set, or derived from the master key (the same in every process). */
export function pubsubToken(config: Pick<Config, 'pushPubsubToken'>, masterKey: Buffer): string {
  return config.pushPubsubToken ?? createHmac('sha256', masterKey).update('memgate gmail pubsub push endpoint').digest('base64url').slice(0, 32);
}

export function createPushHub(config: Config, store: PgPushStore, o: PushOverrides = {}): PushHub | null {
  const publicUrl = o.publicUrl ?? config.pushPublicUrl;
  if (!publicUrl) return null;
  return new PushHub(store, { ...DEFAULT_PUSH_SETTINGS, pollSeconds: config.pushPollSeconds, ...o.settings, publicUrl });
}

export async function startPush(
  config: Config,
  o: PushOverrides,
  hub: PushHub | null,
  deps: Omit<PushListenerDeps, 'pubsubToken' | 'log'> & { masterKey: Buffer; log: PushLogger },
): Promise<ListeningPush | null> {
  const portSetting = o.port ?? config.pushPort;
  const port = portSetting === 'ephemeral' ? 0 : portSetting === 0 ? null : portSetting;
  const token = pubsubToken(config, deps.masterKey);
  let listener: ListeningPush | null = null;
  if (port !== null) {
    listener = await startPushListener({ store: deps.store, deliver: deps.deliver, tls: config.pushTls ? deps.tls : undefined, pubsubToken: token, log: deps.log }, { host: config.listen, port });
  }
  if (hub && hub.settings.publicUrl === 'listener') {
    if (!listener) throw new Error("a public URL of 'listener' needs a push listener");
    hub.settings.publicUrl = listener.localUrl;
  }
  if (hub) {
    deps.log.info({ publicUrl: hub.settings.publicUrl, listenerPort: listener?.port ?? null }, 'push: on; backends post to <public URL>/push/...');
    if (listener) deps.log.info(`push: the Gmail Pub/Sub push subscription's endpoint is ${hub.settings.publicUrl}/push/gmail/${token}`);
  } else if (listener) {
    deps.log.warn('push: the listener runs but MEMGATE_PUSH_PUBLIC_URL is not set, so no subscriptions are made; accounts are polled');
  }
  return listener;
}
