// One error hierarchy. Each error carries the protocol answer it maps to, a text safe to
// show a client, and its cause. Anything not a MemgateError is a bug: the protocol layers
// log it and answer NO [SERVERBUG] (IMAP) or 451 4.3.0 (SMTP).

/** IMAP response codes (RFC 9051 7.1, RFC 5530 and extensions) memgate sends with an error. */
export type ImapResponseCode =
  | 'ALREADYEXISTS'
  | 'NONEXISTENT'
  | 'TRYCREATE'
  | 'CANNOT'
  | 'LIMIT'
  | 'TOOBIG'
  | 'UNAVAILABLE'
  | 'AUTHENTICATIONFAILED'
  | 'AUTHORIZATIONFAILED'
  | 'PRIVACYREQUIRED'
  | 'CLIENTBUG'
  | 'SERVERBUG'
  | 'INUSE'
  | 'NOPERM'
  | 'BADCHARSET'
  | 'PARSE'
  | 'CONTACTADMIN'
  | 'EXPUNGEISSUED'
  | 'CORRUPTION'
  | 'OVERQUOTA'
  | 'BADURL'
  | 'UNKNOWN-CTE'
  | 'USEATTR';

export interface MemgateErrorOptions {
  imapCode?: ImapResponseCode;
  /** 'NO' for a refused operation, 'BAD' for a malformed request. */
  imapStatus?: 'NO' | 'BAD';
  smtpReply?: number;
  smtpEnhanced?: string;
  cause?: unknown;
}

export class MemgateError extends Error {
  readonly imapCode?: ImapResponseCode;
  readonly imapStatus: 'NO' | 'BAD';
  readonly smtpReply: number;
  readonly smtpEnhanced: string;

  constructor(message: string, options: MemgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.imapCode = options.imapCode;
    this.imapStatus = options.imapStatus ?? 'NO';
    this.smtpReply = options.smtpReply ?? 550;
    this.smtpEnhanced = options.smtpEnhanced ?? '5.0.0';
  }
}

/** A malformed request: IMAP tagged BAD. */
export class ProtocolError extends MemgateError {
  constructor(message: string, imapCode?: ImapResponseCode) {
    super(message, { imapStatus: 'BAD', imapCode, smtpReply: 501, smtpEnhanced: '5.5.4' });
  }
}

export class NotFoundError extends MemgateError {
  constructor(message: string, imapCode: ImapResponseCode = 'NONEXISTENT') {
    super(message, { imapCode, smtpReply: 550, smtpEnhanced: '5.1.1' });
  }
}

export class AlreadyExistsError extends MemgateError {
  constructor(message: string) {
    super(message, { imapCode: 'ALREADYEXISTS' });
  }
}

export class CannotError extends MemgateError {
  constructor(message: string) {
    super(message, { imapCode: 'CANNOT' });
  }
}

export class LimitError extends MemgateError {
  constructor(message: string, imapCode: 'LIMIT' | 'TOOBIG' = 'LIMIT') {
    super(message, { imapCode, smtpReply: 552, smtpEnhanced: '5.3.4' });
  }
}

export class UnavailableError extends MemgateError {
  constructor(message: string, cause?: unknown) {
    super(message, { imapCode: 'UNAVAILABLE', smtpReply: 451, smtpEnhanced: '4.3.0', cause });
  }
}

export class ConfigError extends MemgateError {}
