// Runs the Gmail API emulator on its own, for demos and manual testing:
//   node dist/test/emulators/gmail/cli.js --port 8085 --user alice@example.com \
//        --push projects/demo/topics/gmail=http://127.0.0.1:8080/push/gmail
// It prints the root URL, token URL, the OAuth client and tokens for each user, and seeds
// each mailbox with a welcome message.

import { Command } from 'commander';
import { startGmailEmulator } from './server';
import { DEFAULT_CLIENT } from './state';

async function main(): Promise<void> {
  const program = new Command()
    .name('gmail-emulator')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0: any free port)', '0')
    .option('--user <email...>', 'mailboxes to create', ['user@example.com'])
    .option('--push <topic=endpoint...>', 'Pub/Sub push subscriptions for users.watch', [])
    .option('--per-user-per-minute <units>', 'quota units per user per minute', '15000')
    .parse();
  const o = program.opts<{ host: string; port: string; user: string[]; push: string[]; perUserPerMinute: string }>();
  const push = o.push.map((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) throw new Error(`--push wants topic=endpoint, got ${p}`);
    return { topicName: p.slice(0, eq), endpoint: p.slice(eq + 1), subscription: `projects/emulator/subscriptions/push-${i + 1}` };
  });
  const emu = await startGmailEmulator({
    host: o.host,
    port: Number(o.port),
    users: o.user,
    push,
    quota: { perUserPerMinute: Number(o.perUserPerMinute) },
  });
  console.log(`Gmail API emulator on ${emu.rootUrl}`);
  console.log(`  token URL:   ${emu.tokenUrl}`);
  console.log(`  auth URL:    ${emu.authUrl}`);
  console.log(`  device code: ${emu.deviceCodeUrl} (approve: GET ${emu.rootUrl}device?user_code=XXXX-XXXX-XXXX&email=...)`);
  console.log(`  client:      ${DEFAULT_CLIENT.clientId} / ${DEFAULT_CLIENT.clientSecret}`);
  for (const u of o.user) {
    emu.state.deliver(u, `From: Gmail Emulator <emulator@example.com>\r\nTo: ${u}\r\nSubject: Welcome\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <welcome.${Date.now()}@example.com>\r\n\r\nThis mailbox lives in the memgate Gmail API emulator.\r\n`);
    const t = emu.state.tokensFor(u);
    console.log(`  ${u}: access_token=${t.access_token} refresh_token=${t.refresh_token}`);
  }
  const stop = (): void => {
    void emu.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
