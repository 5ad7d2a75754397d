import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Expunged UIDs with the modseq of their expunge, for QRESYNC VANISHED (EARLIER). */
@Entity({ name: 'expunge_log' })
export class ExpungeLogEntity {
  @PrimaryColumn({ name: 'mailbox_id', type: 'bigint' })
  mailboxId!: string;

  @PrimaryColumn({ type: 'integer' })
  uid!: number;

  @Column({ name: 'user_id', type: 'bigint' })
  userId!: string;

  @Column({ type: 'bigint' })
  modseq!: string;

  /** Entries older than the retention setting are trimmed (see the mailbox's expunge_log_floor). */
  @Index('expunge_log_expunged_at_idx')
  @Column({ name: 'expunged_at', type: 'timestamptz', default: () => 'now()' })
  expungedAt!: Date;
}
