import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Why a mailbox got the UIDVALIDITY it has (invariant 2). */
@Entity({ name: 'uid_validity_log' })
export class UidValidityLogEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'user_id', type: 'bigint' })
  userId!: string;

  /** No foreign key: the entry outlives a deleted mailbox. */
  @Column({ name: 'mailbox_id', type: 'bigint', nullable: true })
  mailboxId!: string | null;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'uid_validity', type: 'bigint' })
  uidValidity!: string;

  @Column({ type: 'text' })
  reason!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
