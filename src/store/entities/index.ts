import { AccountEntity } from './account.entity';
import { ExpungeLogEntity } from './expunge-log.entity';
import { MailboxMessageEntity } from './mailbox-message.entity';
import { MailboxEntity } from './mailbox.entity';
import { MessageContentEntity } from './message-content.entity';
import { SubscriptionEntity } from './subscription.entity';
import { UidValidityLogEntity } from './uid-validity-log.entity';
import { UserEntity } from './user.entity';

export {
  AccountEntity,
  ExpungeLogEntity,
  MailboxEntity,
  MailboxMessageEntity,
  MessageContentEntity,
  SubscriptionEntity,
  UidValidityLogEntity,
  UserEntity,
};

/** Every entity of the store, for the DataSource. */
export const storeEntities = [
  UserEntity,
  AccountEntity,
  MailboxEntity,
  UidValidityLogEntity,
  MessageContentEntity,
  MailboxMessageEntity,
  ExpungeLogEntity,
  SubscriptionEntity,
];
