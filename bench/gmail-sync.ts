// Gmail first-sync benchmark (issue 5): memgate's first sync of a 10,000-message Gmail
// mailbox from the Gmail API emulator, with Gmail's per-user quota enforced by the emulator
// (units per method from Google's table, a 60 s window) and the adapter set to the same
// ceiling. Reported: when every message is listed (visible to IMAP), when the newest 50 are
// readable from the cache, when every body is cached; the units spent (the emulator's own
// accounting), units per message, refusals; the time against the floor that the quota
// implies for those units, as a ratio.
// Usage: npm run bench:gmail   (BENCH_GMAIL_N, default 10000; BENCH_GMAIL_UNITS, units per
// user per minute, default 15000 as Google documents; anything else is a compressed run and
// the output says so).
import { performance } from 'node:perf_hooks';
import { encryptCredentials, loadMasterKey } from '../src/sync/credentials';
import { startGmailEmulator } from '../test/emulators/gmail/server';
import { gmailAccountCredentials, gmailAccountSettings, GMAIL_USER } from '../test/support/gmail';
import { mochaHooks } from '../test/support/setup';
import { startSyncServer } from '../test/sync/helpers';
import { machineInfo } from './lib/harness';
import { makeMessage } from './lib/messages';
import { runBench } from './lib/run';

const N = Number(process.env.BENCH_GMAIL_N ?? 10000);
const GOOGLE_UNITS_PER_MINUTE = 15000;
const UNITS = Number(process.env.BENCH_GMAIL_UNITS ?? GOOGLE_UNITS_PER_MINUTE);

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  console.log(machineInfo());
  if (UNITS !== GOOGLE_UNITS_PER_MINUTE) console.log(`COMPRESSED RUN: ${UNITS} units per user per minute instead of Google's ${GOOGLE_UNITS_PER_MINUTE}`);
  const emu = await startGmailEmulator({ users: [GMAIL_USER], quota: { perUserPerMinute: UNITS } });
  const mailbox = emu.state.mailbox(GMAIL_USER);
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const raw = makeMessage(i);
    bytes += raw.length;
    // Dates from the Date header (an hour apart), so Gmail's newest-first order is the messages' own.
    mailbox.add(raw, { labelIds: i % 3 === 0 ? ['INBOX'] : ['INBOX', 'UNREAD'], internalDateSource: 'dateHeader' });
  }
  console.log(`Gmail mailbox: ${N} messages in INBOX (and All Mail), ${(bytes / 1048576).toFixed(1)} MB; quota ${UNITS} units/user/min`);

  const server = await startSyncServer({ sync: { leaseSeconds: 30 } });
  const timeline: string[] = [];
  let sampler: NodeJS.Timeout | null = null;
  try {
    const user = await server.memgate.store.createUser('bench', 'imap-pass');
    const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.memgate.database.dataSource.query(sql, params);
    const count = async (box: string, cachedOnly: boolean, newest = 0): Promise<number> => {
      const [r] = await q<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT c.raw IS NOT NULL AS cached FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id
           JOIN message_contents c ON c.id = mm.content_id WHERE m.user_id = $1 AND m.name = $2
           ORDER BY mm.uid DESC ${newest > 0 ? `LIMIT ${newest}` : ''}) x ${cachedOnly ? 'WHERE x.cached' : ''}`,
        [user.id, box],
      );
      return Number(r.n);
    };
    const until = async (check: () => Promise<boolean>): Promise<number> => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 250));
      return performance.now();
    };

    const t0 = performance.now();
    await server.sync.addAccount({
      userName: 'bench',
      kind: 'gmail',
      label: null,
      settings: gmailAccountSettings(emu, { pollIntervalSeconds: 3600, unitsPerMinute: UNITS, backoffBaseMs: 1000, backoffMaxMs: 32000 }),
      credentials: encryptCredentials(loadMasterKey(server.dataDir).key, gmailAccountCredentials(emu)),
    });
    sampler = setInterval(() => {
      const u = emu.state.quota.usage(GMAIL_USER);
      timeline.push(`${s(performance.now() - t0)}: ${u.units} units (${emu.state.quota.inWindow(GMAIL_USER)} in the last 60 s), ${u.refused} refused`);
    }, 30000);
    const listed = await until(async () => (await count('INBOX', false)) === N);
    const newest = await until(async () => (await count('INBOX', true, 50)) === 50);
    const allMail = await until(async () => (await count('All Mail', false)) === N);
    const cached = await until(async () => (await count('INBOX', true)) === N && (await count('All Mail', true)) === N);
    clearInterval(sampler);
    sampler = null;
    const usage = emu.state.quota.usage(GMAIL_USER);
    const total = cached - t0;
    // The floor the quota implies for the units spent: at the steady rate (units / ceiling),
    // and with the first window's burst allowed (the ceiling is a sliding 60 s window).
    const rateFloor = (usage.units / UNITS) * 60_000;
    const windowFloor = (Math.max(0, usage.units - UNITS) / UNITS) * 60_000;
    console.log(timeline.join('\n'));
    console.log(`every message listed in INBOX (visible, readable on demand): ${s(listed - t0)}`);
    console.log(`newest 50 of INBOX readable from the cache: ${s(newest - t0)}`);
    console.log(`All Mail listed: ${s(allMail - t0)}`);
    console.log(`every body cached (INBOX and All Mail): ${s(total)}`);
    console.log(`units: ${usage.units} = ${(usage.units / N).toFixed(2)} per message; refused by the quota: ${usage.refused}; calls: ${JSON.stringify(usage.calls)}`);
    console.log(`floor for these units at ${UNITS}/min: ${s(rateFloor)} (steady rate), ${s(windowFloor)} (first window as a burst)`);
    console.log(`time / floor: ${(total / rateFloor).toFixed(3)} (steady rate), ${(total / windowFloor).toFixed(3)} (burst)`);
    const minimum = N * 5;
    console.log(`for comparison, one raw get per message and nothing else (${minimum} units) would need ${s((Math.max(0, minimum - UNITS) / UNITS) * 60_000)} (burst) to ${s((minimum / UNITS) * 60_000)}`);
  } finally {
    if (sampler) clearInterval(sampler);
    await server.stop();
    await emu.stop();
    await mochaHooks.afterAll();
  }
}

runBench(main);
