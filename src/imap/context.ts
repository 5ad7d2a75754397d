// What the IMAP layer needs from the rest of memgate, handed in by the composition root.
import type { EventBus, MailStore } from '../core/ports';
import type { UrlAuthority } from './urlauth/authority';

export interface ImapLimits {
  maxLineLength: number;
  maxLiteralSize: number;
  /** First delay after a failed login; it doubles with each further failure. */
  authFailDelayMs: number;
  maxAuthFailures: number;
  preauthTimeoutMs: number;
  /** Authenticated (and IDLE) inactivity limit: at least 30 minutes (RFC 9051 5.4). */
  idleTimeoutMs: number;
}

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface ImapContext {
  store: MailStore;
  bus: EventBus;
  log: Logger;
  limits: ImapLimits;
  /** PEM certificate and key; null when none is configured: no STARTTLS, no implicit TLS. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** Allow LOGIN/AUTHENTICATE without TLS on non-loopback connections. */
  allowPlaintextAuth: boolean;
  /** Treat loopback connections as secure (default); tests turn it off to see LOGINDISABLED. */
  loopbackIsSecure?: boolean;
  /** URLAUTH (RFC 4467) and the URLs of CATENATE; absent = neither is offered. */
  urlauth?: UrlAuthority;
}

export const DEFAULT_LIMITS: ImapLimits = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 64 * 1024 * 1024,
  authFailDelayMs: 500,
  maxAuthFailures: 5,
  preauthTimeoutMs: 60_000,
  idleTimeoutMs: 35 * 60_000,
};
