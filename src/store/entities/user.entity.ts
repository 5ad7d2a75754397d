// TypeORM mirrors of the schema created by migrations/ (the migrations are the source of
// truth: the store runs them and never uses `synchronize`). bigint columns are strings,
// because pg returns them as strings to keep 64-bit precision.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** Unique case-insensitively (index on lower(name)). */
  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash!: string;

  @Column({ name: 'last_uid_validity', type: 'bigint', default: 0 })
  lastUidValidity!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
