// `memgate user add|list|delete`.
import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/load';
import { openDatabase } from '../store/database';
import { InProcessEventBus } from '../store/event-bus';
import { PgMailStore } from '../store/pg-mail-store';
import type { MailStore } from '../core/ports';

async function withStore<T>(work: (store: MailStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase({ dataDir: path.resolve(config.dataDir), databaseUrl: config.databaseUrl });
  const bus = new InProcessEventBus();
  try {
    return await work(new PgMailStore(db.dataSource, bus));
  } finally {
    await bus.close();
    await db.close();
  }
}

/** The whole of standard input, less one final line break (passwords). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function userCommands(program: Command): void {
  const user = program.command('user').description('manage gateway users');
  user
    .command('add <name>')
    .description('create a user (password from standard input with --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, opts: { passwordStdin?: boolean }) => {
      if (!opts.passwordStdin) throw new Error('give the password on standard input with --password-stdin');
      const password = await readStdin();
      if (password.length === 0) throw new Error('empty password');
      await withStore(async (store) => {
        await store.createUser(name, password);
      });
      process.stdout.write(`user ${name} created\n`);
    });
  user
    .command('list')
    .description('list users')
    .action(async () => {
      const users = await withStore((store) => store.listUsers());
      for (const u of users) process.stdout.write(`${u.name}\t${u.createdAt.toISOString()}\n`);
    });
  user
    .command('delete <name>')
    .description('delete a user and all their mail')
    .action(async (name: string) => {
      const deleted = await withStore((store) => store.deleteUser(name));
      if (!deleted) throw new Error(`no such user: ${name}`);
      process.stdout.write(`user ${name} deleted\n`);
    });
}
