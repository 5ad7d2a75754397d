import { Entity, PrimaryColumn } from 'typeorm';

/** Subscribed names: they need not exist as mailboxes (RFC 9051 6.3.9). */
@Entity({ name: 'subscriptions' })
export class SubscriptionEntity {
  @PrimaryColumn({ name: 'user_id', type: 'bigint' })
  userId!: string;

  @PrimaryColumn({ type: 'text' })
  name!: string;
}
