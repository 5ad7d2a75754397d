// The last step of `memgate account add` for every backend kind: check the account against
// its backend, then store it with its credentials encrypted. Nothing is saved when the
// check fails.
import { AdapterError } from '../../adapters/contract';
import { BACKEND_ADAPTERS } from '../main';
import type { PgBackendSync } from '../store/pg-backend-sync';
import { encryptCredentials } from '../sync/credentials';

/** Runs work with the backend-sync store and the master key (opened by the CLI). */
export type WithSync = <T>(work: (sync: PgBackendSync, masterKey: Buffer) => Promise<T>) => Promise<T>;

export interface NewAccount {
  user: string;
  kind: keyof typeof BACKEND_ADAPTERS;
  label: string | null;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  /** Log in and look before saving (`--no-verify` turns it off). */
  verify: boolean;
  /** For the error text: "POP3 account", "Gmail account", "Graph mailbox". */
  what: string;
  /** `--replace <id>`: new credentials and settings for this existing account (its mail stays). */
  replace?: string;
}

/** Returns the new account's id. */
export async function verifyAndSave(account: NewAccount, withSync: WithSync): Promise<string> {
  let credentials = account.credentials;
  if (account.verify) {
    // A probe may rotate an OAuth refresh token: keep whichever it ends with.
    const adapter = BACKEND_ADAPTERS[account.kind]({
      id: 'new',
      settings: account.settings,
      credentials,
      saveCredentials: async (rotated) => void (credentials = rotated),
    });
    try {
      await adapter.probe();
    } catch (err) {
      const why = err instanceof AdapterError ? `${err.kind}: ${err.message}` : String(err);
      throw new Error(`cannot use this ${account.what} (${why}); nothing was saved`);
    } finally {
      adapter.dispose?.();
    }
  }
  const replace = account.replace;
  if (replace !== undefined) {
    await withSync((sync, key) =>
      sync.replaceAccount({ userName: account.user, accountId: replace, kind: account.kind, settings: account.settings, credentials: encryptCredentials(key, credentials) }),
    );
    return replace;
  }
  const created = await withSync((sync, key) =>
    sync.addAccount({
      userName: account.user,
      kind: account.kind,
      label: account.label,
      settings: account.settings,
      credentials: encryptCredentials(key, credentials),
    }),
  );
  return created.accountId;
}

/** The line `account add` prints once the account is saved. */
export function savedLine(accountId: string, user: string, replaced: boolean, detail = ''): string {
  const what = `account ${accountId}${detail ? ` (${detail})` : ''}`;
  return replaced
    ? `${what}: new credentials and settings saved for ${user}; its mail stays, and a running memgate signs in again at its next poll\n`
    : `${what} added to ${user}; a running memgate starts syncing it within seconds\n`;
}
