// memgate's settings: environment variables (and an optional JSON config file named by
// MEMGATE_CONFIG), validated at start with a message naming the bad setting.
import { z } from 'zod';

const port = z.coerce
  .number({ message: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be 0 (disabled) or a port from 1 to 65535')
  .max(65535, 'must be at most 65535');

const bool = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])])
  .transform((v) => v === true || v === '1' || v === 'true' || v === 'yes' || v === 'on');

export const configSchema = z.object({
  dataDir: z.string().min(1).default('./data'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  listen: z.string().min(1).default('127.0.0.1'),
  imapPort: port.default(1143),
  imapsPort: port.default(1993),
  submissionPort: port.default(1587),
  submissionsPort: port.default(1465),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
  allowPlaintextAuth: bool.default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  maxLiteralSize: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  /** SIZE of the submission server (RFC 1870): largest message, BURL parts included. */
  maxMessageSize: z.coerce.number().int().min(1024).default(50 * 1024 * 1024),
  /** Seconds: first retry delay of a temporarily failed delivery (it doubles, up to an hour). */
  outboxRetryBase: z.coerce.number().min(0.01).default(60),
  /** Seconds: how long temporary failures are retried before a DSN says the message failed. */
  outboxGiveUpAfter: z.coerce.number().min(1).default(5 * 24 * 3600),
  /** Seconds a process's claim on an outbox message lasts unrenewed; another sends it this long after it dies. */
  outboxLeaseSeconds: z.coerce.number().min(1).default(60),
  /** Seconds a message waits in the outbox before a "delayed" DSN goes to senders who asked (NOTIFY=DELAY). */
  outboxDelayNotice: z.coerce.number().min(0).default(4 * 3600),
  /** Deliveries the outbox worker of a process runs at once (each holds its message in memory). */
  outboxConcurrency: z.coerce.number().int().min(1).max(256).default(8),
  /** Days an expunge stays in the log for QRESYNC's VANISHED (EARLIER); older ones are trimmed. */
  expungeLogDays: z.coerce.number().positive('must be more than 0 days').default(90),
  /** Key for backend credentials at rest: 64 hex digits or base64 of 32 bytes (else <dataDir>/master.key). */
  masterKey: z.string().optional(),
  /** Seconds a process holds a backend account's sync lease; another takes over this long after it dies. */
  syncLeaseSeconds: z.coerce.number().min(1).default(30),
  /** Port of the push listener (backend change notifications); 0: none in this process. */
  pushPort: port.default(0),
  /** URL the backends post to (https for Graph), reaching a push listener; unset: push off, polling only. */
  pushPublicUrl: z
    .string()
    .regex(/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/, 'must be an http(s):// URL without query')
    .optional(),
  /** Serve the push listener over TLS with memgate's certificate (else plain HTTP behind a TLS proxy). */
  pushTls: bool.default(false),
  /** Seconds between polls of an account while its push subscriptions are healthy (its own interval when longer). */
  pushPollSeconds: z.coerce.number().min(1).default(900),
  /** Secret in the Gmail Pub/Sub push endpoint (<public URL>/push/gmail/<token>); else derived from the master key. */
  pushPubsubToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 letters, digits, - or _')
    .optional(),
});

export type Config = z.infer<typeof configSchema>;

/** Environment variable for each setting. */
export const ENV_NAMES: Record<keyof Config, string> = {
  dataDir: 'MEMGATE_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  listen: 'MEMGATE_LISTEN',
  imapPort: 'MEMGATE_IMAP_PORT',
  imapsPort: 'MEMGATE_IMAPS_PORT',
  submissionPort: 'MEMGATE_SUBMISSION_PORT',
  submissionsPort: 'MEMGATE_SUBMISSIONS_PORT',
  tlsCert: 'MEMGATE_TLS_CERT',
  tlsKey: 'MEMGATE_TLS_KEY',
  allowPlaintextAuth: 'MEMGATE_ALLOW_PLAINTEXT_AUTH',
  logLevel: 'MEMGATE_LOG_LEVEL',
  maxLiteralSize: 'MEMGATE_MAX_LITERAL_SIZE',
  maxMessageSize: 'MEMGATE_MAX_MESSAGE_SIZE',
  outboxRetryBase: 'MEMGATE_OUTBOX_RETRY_BASE',
  outboxGiveUpAfter: 'MEMGATE_OUTBOX_GIVE_UP_AFTER',
  outboxLeaseSeconds: 'MEMGATE_OUTBOX_LEASE_SECONDS',
  outboxConcurrency: 'MEMGATE_OUTBOX_CONCURRENCY',
  outboxDelayNotice: 'MEMGATE_OUTBOX_DELAY_NOTICE',
  expungeLogDays: 'MEMGATE_EXPUNGE_LOG_DAYS',
  masterKey: 'MEMGATE_MASTER_KEY',
  syncLeaseSeconds: 'MEMGATE_SYNC_LEASE_SECONDS',
  pushPort: 'MEMGATE_PUSH_PORT',
  pushPublicUrl: 'MEMGATE_PUSH_PUBLIC_URL',
  pushTls: 'MEMGATE_PUSH_TLS',
  pushPollSeconds: 'MEMGATE_PUSH_POLL_SECONDS',
  pushPubsubToken: 'MEMGATE_PUSH_PUBSUB_TOKEN',
};
