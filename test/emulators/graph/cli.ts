// Runs the Graph mail emulator on its own, for demos and manual testing:
//   node dist/test/emulators/graph/cli.js --mailbox alice@contoso.com --port 8443 --seed 3
// It prints the base URLs, the app registration, the tenant and where the CA certificate was
// written, then serves until interrupted. Device-code sign-in: open the printed
// /devicelogin page (or add ?user_code=CODE&user=ADDRESS to it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { DEFAULT_CLIENT, startGraphEmulator } from './server';

async function main(): Promise<void> {
  const program = new Command()
    .name('graph-emulator')
    .description('Microsoft Graph mail emulator (HTTPS, self-signed)')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', '0')
    .option('--mailbox <address...>', 'mailboxes to create', ['alice@contoso.com'])
    .option('--seed <n>', 'messages to put in each inbox', '3')
    .option('--throttle', "enforce Outlook's limits (10,000 requests / 10 min, 4 concurrent per mailbox)", false)
    .option('--ca-file <path>', 'where to write the CA certificate', path.join(os.tmpdir(), 'graph-emulator-ca.pem'))
    .parse();
  const o = program.opts<{ port: string; mailbox: string[]; seed: string; throttle: boolean; caFile: string }>();
  const emu = await startGraphEmulator({ port: Number(o.port), mailboxes: o.mailbox, throttling: o.throttle });
  for (const mb of emu.state.mailboxes.values()) {
    for (let i = 1; i <= Number(o.seed); i++) {
      emu.state.deliver(mb, `From: Demo <demo@example.org>\r\nTo: ${mb.address}\r\nSubject: Demo message ${i}\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <demo-${i}-${mb.id}@example.org>\r\n\r\nHello ${mb.displayName}, this is message ${i}.\r\n`);
    }
  }
  fs.writeFileSync(o.caFile, emu.ca);
  const lines = [
    `Graph base URL   ${emu.baseUrl}/v1.0`,
    `Login URL        ${emu.loginUrl}/${emu.state.tenantId}/oauth2/v2.0/token`,
    `Device login     ${emu.loginUrl}/devicelogin`,
    `Tenant           ${emu.state.tenantId}`,
    `Client id        ${DEFAULT_CLIENT.clientId}`,
    `Client secret    ${DEFAULT_CLIENT.clientSecret}`,
    `CA certificate   ${o.caFile}  (e.g. NODE_EXTRA_CA_CERTS=${o.caFile})`,
    `Mailboxes        ${[...emu.state.mailboxes.values()].map((m) => `${m.address} (${m.id})`).join(', ')}`,
  ];
  console.log(lines.join('\n'));
  const stop = (): void => {
    void emu.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
