// Senders of backend accounts that send through their provider's API (Graph sendMail, Gmail
// messages.send). The adapters implement them; the composition root registers one kind
// each here, so src/submit names no backend. The account's backend credentials are opened
// with the master key when the first message goes out, and one Sender per account is kept
// between messages (SenderPool), so its access token and throttling state are reused.
// A token the provider rotates is saved sealed, as the sync engine saves its own.
import { decryptCredentials, encryptCredentials } from '../sync/credentials';
import { SenderPool } from './sender-pool';
import { DeliveryError, type Sender, type SenderCapabilities, type SenderFactory, type SendingAccount } from './ports';

/** What a backend Sender is built from (the shape of the adapters' AdapterAccount). */
export interface BackendSendingAccount {
  id: string;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  /** Stores credentials the provider rotated (encrypted) before they are used. */
  saveCredentials: (credentials: Record<string, string>) => Promise<void>;
}

export interface BackendSenderKind {
  /** Known before any credentials are opened: routing decides on them at submission. */
  capabilities: SenderCapabilities;
  create(account: BackendSendingAccount): Sender;
}

export class BackendSenderFactory implements SenderFactory {
  private readonly pool: SenderPool;

  constructor(
    private readonly kinds: Readonly<Record<string, BackendSenderKind>>,
    private readonly masterKey: Buffer,
    /** Replaces the account's sealed backend credentials. */
    private readonly saveSealed: (accountId: string, sealed: Buffer) => Promise<void>,
    opts: { idleMs?: number } = {},
  ) {
    this.pool = new SenderPool(opts.idleMs ?? 10 * 60_000);
  }

  senderFor(account: SendingAccount): Sender | null {
    const kind = this.kinds[account.kind];
    if (!kind) return null;
    const sealed = account.sealed?.backend ?? null;
    const fingerprint = `${JSON.stringify(account.settings)}|${sealed?.toString('base64') ?? ''}`;
    return this.pool.handle(account.id, fingerprint, kind.capabilities, () => {
      if (!sealed) return refusing(account.id, 'the account has no stored credentials: add it again');
      let credentials: Record<string, string>;
      try {
        credentials = decryptCredentials(this.masterKey, sealed);
      } catch (err) {
        return refusing(account.id, (err as Error).message);
      }
      return kind.create({
        id: account.id,
        settings: account.settings,
        credentials,
        saveCredentials: async (rotated) => {
          const next = encryptCredentials(this.masterKey, rotated);
          await this.saveSealed(account.id, next);
          // The Sender holds the rotated token already: keep it for the next message.
          this.pool.rekey(account.id, `${JSON.stringify(account.settings)}|${next.toString('base64')}`);
        },
      });
    });
  }

  close(): void {
    this.pool.close();
  }
}

/** A Sender for an account whose credentials cannot be opened: every attempt waits for new ones. */
function refusing(accountId: string, why: string): Sender {
  return {
    capabilities: { savesSentCopy: true },
    send() {
      return Promise.reject(new DeliveryError(`account ${accountId}: ${why}`, false, undefined, undefined, { needsCredentials: true }));
    },
  };
}
