import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A message as it sits in one mailbox under one UID. */
@Entity({ name: 'mailbox_messages' })
@Index('mailbox_messages_modseq_idx', ['mailboxId', 'modseq'])
export class MailboxMessageEntity {
  @PrimaryColumn({ name: 'mailbox_id', type: 'bigint' })
  mailboxId!: string;

  @PrimaryColumn({ type: 'integer' })
  uid!: number;

  @Column({ name: 'user_id', type: 'bigint' })
  userId!: string;

  @Column({ name: 'content_id', type: 'bigint' })
  contentId!: string;

  @Column({ type: 'bigint' })
  modseq!: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  flags!: string[];

  @Column({ name: 'internal_date', type: 'timestamptz' })
  internalDate!: Date;

  @Column({ type: 'integer' })
  size!: number;
}
