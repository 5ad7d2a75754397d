// Sender rules (RFC 6409 6.1, 8): a user may send only as an address of one of their
// accounts, in MAIL FROM and in the From header, and the account that owns the From
// address is the one that sends (so a reply leaves through the provider it came from).
import { MemgateError } from '../core/errors';
import { parseAddressList } from '../mime/address';
import { findFields, parseHeaderBlock } from '../mime/headers';
import type { SendingAccount } from './ports';

export class SenderRuleError extends MemgateError {
  constructor(message: string) {
    super(message, { smtpReply: 550, smtpEnhanced: '5.7.1' });
  }
}

/** True when `address` is one the account may send as (exact, or an `@domain` entry). */
export function accountAllows(account: SendingAccount, address: string): boolean {
  const a = address.toLowerCase();
  const at = a.lastIndexOf('@');
  const domain = at >= 0 ? a.slice(at) : null;
  return account.addresses.some((entry) => entry === a || (entry.startsWith('@') && entry === domain));
}

/** The accounts that may use `address`, in the order given (primary first). */
export function accountsFor(accounts: readonly SendingAccount[], address: string): SendingAccount[] {
  return accounts.filter((account) => accountAllows(account, address));
}

/** Every mailbox address of the message's From header fields, lower case. */
export function fromAddresses(raw: Buffer): string[] {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const out: string[] = [];
  for (const field of findFields(fields, 'From')) {
    for (const a of parseAddressList(field.value)) {
      if (a.mailbox && a.host) out.push(`${a.mailbox}@${a.host}`.toLowerCase());
    }
  }
  return out;
}

/**
 * Picks the account that sends the message: the one owning the From address, which must
 * also own the envelope sender. Throws SenderRuleError (5.7.1) with a text that says why.
 */
export function chooseAccount(accounts: readonly SendingAccount[], mailFrom: string, raw: Buffer): SendingAccount {
  const from = fromAddresses(raw);
  if (from.length === 0) throw new SenderRuleError('The message has no From address');
  for (const address of from) {
    if (accountsFor(accounts, address).length === 0) {
      throw new SenderRuleError(`From address <${address}> is not an address of any of your accounts`);
    }
  }
  const owners = accountsFor(accounts, from[0]);
  const account = owners.find((a) => accountAllows(a, mailFrom));
  if (!account) {
    throw new SenderRuleError(`Envelope sender <${mailFrom}> and From <${from[0]}> belong to different accounts`);
  }
  return account;
}
