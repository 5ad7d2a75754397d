import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { AccountEntity } from './account.entity';
import { UserEntity } from './user.entity';

@Entity({ name: 'mailboxes' })
@Unique('mailboxes_user_name_key', ['userId', 'name'])
export class MailboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'user_id', type: 'bigint' })
  userId!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: UserEntity;

  @Column({ name: 'account_id', type: 'bigint' })
  accountId!: string;

  @ManyToOne(() => AccountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'account_id' })
  account?: AccountEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'special_use', type: 'text', nullable: true })
  specialUse!: string | null;

  @Column({ name: 'uid_validity', type: 'bigint' })
  uidValidity!: string;

  @Column({ name: 'uid_next', type: 'integer', default: 1 })
  uidNext!: number;

  @Column({ name: 'first_recent_uid', type: 'integer', default: 1 })
  firstRecentUid!: number;

  @Column({ name: 'highest_modseq', type: 'bigint', default: 1 })
  highestModseq!: string;

  /** Highest modseq whose expunges were trimmed from the expunge log (QRESYNC). */
  @Column({ name: 'expunge_log_floor', type: 'bigint', default: 0 })
  expungeLogFloor!: string;

  @Column({ name: 'backend_id', type: 'text', nullable: true })
  backendId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
