#!/usr/bin/env node
// The `memgate` command: start the gateway, manage users.
import { Command } from 'commander';
import { loadConfig } from '../config/load';
import { ConfigError } from '../core/errors';
import { startCommand } from './start';
import { userCommands } from './users';
import { accountCommands } from './accounts';
import { sendingCommands } from './sending';

const program = new Command();
program.name('memgate').description('Mobile-email gateway: LEMONADE IMAP in front of POP3, Graph and Gmail');

program
  .command('start')
  .description('start the gateway (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => startCommand(loadConfig()));

userCommands(program);
accountCommands(program);
// `account addresses|relay` live in their own file, under the same `account` command.
const accountCommand = program.commands.find((c) => c.name() === 'account');
if (accountCommand) sendingCommands(accountCommand);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`memgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
