// Push benchmark (issues 4 and 5): what an idle account costs at its backend per hour, with
// and without push, and how fast an arrival reaches an IDLE-ing client by push.
//  - Graph: requests per hour for an idle mailbox, polling only (the engine's default 60 s
//    interval) against subscriptions (polling every MEMGATE_PUSH_POLL_SECONDS, 900 s, plus
//    renewals of one subscription per folder, each renewed ~70 h).
//  - Gmail: quota units per hour for an idle account, polling only against users.watch
//    (the same 900 s polls plus one watch call a day).
// Time is compressed: intervals are divided by BENCH_PUSH_K (default 120, so one hour runs
// in 30 s) and the emulators' request logs / quota meters are read over that window. The
// cost per poll measured there times the real polls per hour (3600 / interval) is the
// hourly figure (in compressed time each poll's own duration stretches the interval a
// little, so the window holds slightly fewer polls than the hour would). Renewals are too
// rare to see in the window: one renewal round is measured (short lifetime) and added at
// its real rate.
// Usage: npm run build && node dist/bench/push-idle.js
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';
import { encryptCredentials, loadMasterKey } from '../src/sync/credentials';
import { mochaHooks } from '../test/support/setup';
import { startGraphEmulator, type GraphEmulator } from '../test/emulators/graph/server';
import { mime as graphMime } from '../test/emulators/graph/helpers';
import { startGmailEmulator, type GmailEmulator } from '../test/emulators/gmail/server';
import { gmailAccountCredentials, gmailAccountSettings, GMAIL_USER, mime as gmailMime } from '../test/support/gmail';
import { graphUser, type GraphUser } from '../test/adapters/graph-helpers';
import { startSyncServer, type SyncServer } from '../test/sync/helpers';
import { quiet, subscribed } from '../test/sync/push-helpers';
import { machineInfo } from './lib/harness';
import { runBench } from './lib/run';

const K = Number(process.env.BENCH_PUSH_K ?? 120);
const WINDOW_S = 3600 / K;
const POLL_S = 60; // the engine's default poll interval
const PUSH_POLL_S = 900; // MEMGATE_PUSH_POLL_SECONDS default
const ARRIVALS = Number(process.env.BENCH_PUSH_ARRIVALS ?? 10);
const TOPIC = 'projects/bench/topics/gmail';
const PUBSUB_TOKEN = 'bench-pubsub-token-0123456789';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pushOn(renewMarginSeconds?: number) {
  return { port: 'ephemeral' as const, publicUrl: 'listener' as const, settings: { pollSeconds: PUSH_POLL_S / K, ...(renewMarginSeconds ? { renewMarginSeconds } : {}) } };
}

/** Arrival -> EXISTS at an IDLE-ing client, ms, one message at a time. */
async function latencies(port: number, user: string, pass: string, deliver: (i: number) => void): Promise<number[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass }, logger: false });
  await client.connect();
  try {
    await client.mailboxOpen('INBOX');
    let resolveExists: (() => void) | null = null;
    client.on('exists', () => resolveExists?.());
    void client.idle();
    const out: number[] = [];
    for (let i = 0; i < ARRIVALS; i++) {
      const arrived = new Promise<void>((r) => (resolveExists = r));
      const t = performance.now();
      deliver(i);
      await Promise.race([arrived, sleep(30_000).then(() => Promise.reject(new Error('no arrival in 30 s')))]);
      out.push(performance.now() - t);
      await sleep(200);
    }
    return out;
  } finally {
    await client.logout().catch(() => undefined);
  }
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms (${s.length} arrivals)`;
}

/**
 * Requests Outlook counts against a mailbox's limit: each member of a $batch on its own
 * (the emulator's request log has one line per HTTP request, the $batch as one).
 */
function countMailboxRequests(emu: GraphEmulator): () => number {
  let n = 0;
  const admit = emu.faults.admit.bind(emu.faults);
  emu.faults.admit = (mailboxId: string) => {
    n++;
    return admit(mailboxId);
  };
  return () => n;
}

async function graphRun(emu: GraphEmulator, push: boolean, counted: () => number): Promise<{ perHour: number; countedPerHour: number; perPoll: string; folders: number; renewPerHour: number; latency?: string }> {
  const server = await startSyncServer({ push: push ? pushOn() : undefined });
  try {
    const u: GraphUser = await graphUser({ server, emu, stop: async () => undefined }, { pollIntervalSeconds: POLL_S / K });
    const folders = async () => (await server.sync.mirroredFolderIds(u.accountId)).length;
    if (push) await subscribed(server, u.accountId, true);
    else while ((await server.sync.account(u.accountId))?.state !== 'idle') await sleep(100);
    await sleep(1000);
    await quiet(() => emu.requests.length, 300);
    const mark = emu.requests.length;
    const countedMark = counted();
    await sleep(WINDOW_S * 1000);
    const seen = emu.requests.slice(mark);
    const mailboxRequests = counted() - countedMark;
    const listings = seen.filter((r) => r.method === 'GET' && /\/mailFolders(\?|$)/.test(r.path)).length;
    const f = await folders();
    // Subscriptions are made with the default lifetime (4200 min) and renewed a quarter of
    // it or an hour before expiry, whichever is sooner: one PATCH per folder every 4140 min.
    const renewPerHour = push ? (f * 60) / (4200 - 60) : 0;
    const polls = Math.max(1, listings);
    const pollsPerHour = 3600 / (push ? PUSH_POLL_S : POLL_S);
    const perHour = (seen.length / polls) * pollsPerHour + renewPerHour;
    const countedPerHour = (mailboxRequests / polls) * pollsPerHour + renewPerHour;
    const latency = push
      ? summary(await latencies(server.port, u.user, u.password, (i) => emu.state.deliver(u.mailbox, graphMime(`bench ${i}`))))
      : undefined;
    const batches = seen.filter((r) => r.path.endsWith('/$batch')).length;
    return { perHour, countedPerHour, perPoll: `${seen.length} HTTP requests (${listings} folder listings, ${batches} $batch) = ${mailboxRequests} mailbox requests in ${WINDOW_S} s = ${(mailboxRequests / polls).toFixed(1)} per poll`, folders: f, renewPerHour, latency };
  } finally {
    await server.stop();
  }
}

/** One renewal round with a short lifetime: requests it costs (to check the per-folder PATCH assumption). */
async function graphRenewalRound(emu: GraphEmulator): Promise<string> {
  const server = await startSyncServer({ push: pushOn() });
  try {
    const u = await graphUser({ server, emu, stop: async () => undefined }, { pollIntervalSeconds: 3600, subscriptionMinutes: 0.2 });
    const rows = await subscribed(server, u.accountId, true);
    await quiet(() => emu.requests.length, 300);
    const mark = emu.requests.length;
    const first = Math.min(...rows.map((r) => r.expiresAt!.getTime()));
    await sleep(Math.max(0, first - Date.now()) + 500);
    const seen = emu.requests.slice(mark);
    const patches = seen.filter((r) => r.method === 'PATCH' && r.path.includes('/subscriptions/')).length;
    return `${rows.length} subscriptions; one renewal round: ${seen.length} requests (${patches} PATCH /subscriptions/{id})`;
  } finally {
    await server.stop();
  }
}

async function gmailRun(watch: boolean): Promise<{ unitsPerHour: number; window: string; watchUnits: number; latency?: string }> {
  const emu: GmailEmulator = await startGmailEmulator({ users: [GMAIL_USER] });
  const server: SyncServer = await startSyncServer({ push: watch ? pushOn() : undefined, settings: { pushPubsubToken: PUBSUB_TOKEN } });
  try {
    if (watch) emu.state.watches.addSubscription({ topicName: TOPIC, subscription: 'projects/bench/subscriptions/memgate', endpoint: `${server.memgate.push!.localUrl}/push/gmail/${PUBSUB_TOKEN}` });
    await server.memgate.store.createUser('alice', 'imap-pass');
    const { accountId } = await server.sync.addAccount({
      userName: 'alice',
      kind: 'gmail',
      label: null,
      settings: gmailAccountSettings(emu, { pollIntervalSeconds: POLL_S / K, ...(watch ? { pubsubTopic: TOPIC } : {}) }),
      credentials: encryptCredentials(loadMasterKey(server.dataDir).key, gmailAccountCredentials(emu)),
    });
    if (watch) await subscribed(server, accountId, false);
    else while ((await server.sync.account(accountId))?.state !== 'idle') await sleep(100);
    await sleep(1000);
    await quiet(() => emu.state.requests.length, 300);
    const before = emu.state.quota.usage(GMAIL_USER);
    await sleep(WINDOW_S * 1000);
    const after = emu.state.quota.usage(GMAIL_USER);
    const units = after.units - before.units;
    const polls = Math.max(1, (after.calls['gmail.users.labels.list'] ?? 0) - (before.calls['gmail.users.labels.list'] ?? 0));
    const pollsPerHour = 3600 / (watch ? PUSH_POLL_S : POLL_S);
    const calls = Object.entries(after.calls)
      .map(([m, n]) => [m.replace('gmail.users.', ''), n - (before.calls[m] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ');
    // users.watch: 100 units, renewed daily (an hour before the 24 h mark): 100 / 23 per hour.
    const watchUnits = watch ? 100 / 23 : 0;
    const latency = watch ? summary(await latencies(server.port, 'alice', 'imap-pass', (i) => emu.state.deliver(GMAIL_USER, gmailMime({ subject: `bench ${i}` })))) : undefined;
    return { unitsPerHour: (units / polls) * pollsPerHour + watchUnits, window: `${units} units in ${WINDOW_S} s (${calls || 'no calls'}) = ${(units / polls).toFixed(1)} units per poll`, watchUnits, latency };
  } finally {
    await server.stop();
    await emu.stop();
  }
}

async function main(): Promise<void> {
  console.log(machineInfo());
  console.log(`time compression K = ${K}: one hour = ${WINDOW_S} s; poll ${POLL_S} s -> ${POLL_S / K} s; push poll ${PUSH_POLL_S} s -> ${PUSH_POLL_S / K} s`);
  const emu = await startGraphEmulator({ notifications: { retryDelayMs: 100 } });
  try {
    const counted = countMailboxRequests(emu);
    const plain = await graphRun(emu, false, counted);
    console.log(`Graph, polling only: ${plain.perPoll} -> ${plain.perHour.toFixed(0)} HTTP requests/hour, ${plain.countedPerHour.toFixed(0)} mailbox requests/hour (${plain.folders} folders)`);
    const pushed = await graphRun(emu, true, counted);
    console.log(
      `Graph, subscriptions: ${pushed.perPoll} -> ${pushed.perHour.toFixed(1)} HTTP requests/hour, ${pushed.countedPerHour.toFixed(1)} mailbox requests/hour (incl. ${pushed.renewPerHour.toFixed(2)} renewals/hour for ${pushed.folders} folders); arrival -> IDLE ${pushed.latency}`,
    );
    console.log(`Graph renewal check: ${await graphRenewalRound(emu)}`);
  } finally {
    await emu.stop();
  }
  const poll = await gmailRun(false);
  console.log(`Gmail, polling only: ${poll.window} -> ${poll.unitsPerHour.toFixed(0)} units/hour`);
  const watch = await gmailRun(true);
  console.log(`Gmail, watch: ${watch.window} -> ${watch.unitsPerHour.toFixed(1)} units/hour (incl. ${watch.watchUnits.toFixed(1)} for the daily watch); arrival -> IDLE ${watch.latency}`);
  await mochaHooks.afterAll();
}

runBench(main);
