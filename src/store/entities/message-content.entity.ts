import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Immutable message bytes (invariant 3), shared by every mailbox row that shows them. */
@Entity({ name: 'message_contents' })
@Index('message_contents_user_sha_idx', ['userId', 'sha256'])
export class MessageContentEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'user_id', type: 'bigint' })
  userId!: string;

  /** Null while a backend message's body is not fetched yet (size is then the backend's). */
  @Column({ type: 'bytea', nullable: true })
  raw!: Buffer | null;

  @Column({ type: 'integer' })
  size!: number;

  /**
   * The header section alone (POP3 TOP n 0) while raw is null, so header-only questions
   * are answered before the body is fetched; null once raw is stored.
   */
  @Column({ type: 'bytea', nullable: true })
  header!: Buffer | null;

  /** Hex SHA-256 of raw. */
  @Column({ type: 'text', nullable: true })
  sha256!: string | null;

  /** Parsed ENVELOPE/BODYSTRUCTURE JSON computed by the protocol layer. */
  @Column({ type: 'text', nullable: true })
  summary!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
