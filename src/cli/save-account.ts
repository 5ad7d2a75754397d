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
