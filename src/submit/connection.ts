// One submission connection: smtp-server's connection with what memgate adds, through its
// own extension points (commands dispatch to handler_<VERB> methods):
// - BDAT (CHUNKING, BINARYMIME: RFC 3030) and BURL imap (RFC 4468), which smtp-server lacks;
// - AUTH only over TLS, except from loopback (RFC 8314 / RFC 4954 538 5.7.11);
// - replies whose text starts with an enhanced status code keep that code (5.7.1 ...).
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPServer, SMTPServerAddress } from 'smtp-server';
import type { User } from '../core/ports';
import type { DraftRef } from './ports';
import { ChunkingStream } from './chunk-stream';
import { smtpReplyOf, type Submission, type SubmittedEnvelope } from './accept';

/** The server side a connection calls back into (SubmissionServer). */
export interface SubmissionHost {
  submission: Submission;
  /** Plaintext AUTH is acceptable from this remote address (loopback, or configured). */
  plaintextAuthAllowed(remoteAddress: string): boolean;
}

/** A message being assembled from BDAT chunks and BURL parts. */
interface Assembly {
  parts: Buffer[];
  size: number;
  tooBig: boolean;
  draft?: DraftRef;
}

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

export class SubmissionConnection extends SMTPConnection {
  private inEhlo = false;
  private assembly: Assembly | null = null;

  private get host(): SubmissionHost {
    return this._server as unknown as SubmissionHost;
  }

  private get maxSize(): number {
    return this.host.submission.ctx.maxMessageSize;
  }

  override _createParser(): ChunkingStream {
    const parser = new ChunkingStream({ maxCommandLength: this._server.options.maxCommandLength });
    parser.oncommand = (command, callback) => this._onCommand(command, callback);
    parser.on('error', (err: Error) => this.send(421, 'Error: ' + err.message));
    return parser;
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (this.inEhlo && code === 250 && Array.isArray(data)) data = this.features(data);
    if (typeof data === 'string' && context === undefined && ENHANCED.test(data)) return super.send(code, data, false);
    super.send(code, data, context);
  }

  private features(lines: string[]): string[] {
    const authOk = this.secure || this.host.plaintextAuthAllowed(this.remoteAddress);
    const out = lines.filter((line, i) => i === 0 || authOk || !line.startsWith('AUTH '));
    out.push('CHUNKING', 'BINARYMIME');
    if (this.host.submission.ctx.burl) out.push('BURL imap');
    return out;
  }

  override handler_EHLO(command: Buffer, callback: () => void): void {
    this.inEhlo = true;
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.inEhlo = false;
    }
  }

  override handler_AUTH(command: Buffer, callback: () => void): void {
    if (!this.secure && !this.host.plaintextAuthAllowed(this.remoteAddress)) {
      this.send(538, '5.7.11 Encryption required for requested authentication mechanism');
      return callback();
    }
    super.handler_AUTH(command, callback);
  }

  override _resetSession(): void {
    super._resetSession();
    this.assembly = null;
  }

  /** BODY=BINARYMIME is valid here (RFC 3030 3), smtp-server knows only 7BIT and 8BITMIME. */
  override _validateMailParams(parsed: SMTPServerAddress): ReturnType<SMTPConnection['_validateMailParams']> {
    const args = parsed.args;
    if (args && typeof args.BODY === 'string' && args.BODY.toUpperCase() === 'BINARYMIME') {
      const body = args.BODY;
      delete args.BODY;
      try {
        return super._validateMailParams(parsed);
      } finally {
        args.BODY = body;
      }
    }
    return super._validateMailParams(parsed);
  }

  override handler_DATA(command: Buffer, callback: () => void): void {
    if (this.assembly) {
      this.send(503, '5.5.1 DATA cannot follow BDAT or BURL in one transaction');
      return callback();
    }
    if (this.session.envelope.bodyType === 'binarymime') {
      this.send(503, '5.5.1 BODY=BINARYMIME requires BDAT');
      return callback();
    }
    super.handler_DATA(command, callback);
  }

  /** RFC 3030 2: BDAT <size> [LAST], followed by exactly <size> octets. */
  handler_BDAT(command: Buffer, callback: () => void): void {
    const m = /^BDAT +(\d{1,15})( +LAST)? *$/i.exec(command.toString('latin1'));
    if (!m) {
      // The chunk's length is unknown, so the rest of the input cannot be framed.
      this.send(501, '5.5.4 Syntax: BDAT <size> [LAST]; closing the connection');
      this.close();
      return callback();
    }
    const size = Number(m[1]);
    const last = m[2] !== undefined;
    // Checked now, answered after the chunk: its octets must be read either way.
    const refusal = this.transactionRefusal();
    const assembly = refusal ? null : (this.assembly ??= { parts: [], size: 0, tooBig: false });
    const take = (bytes: Buffer): void => {
      if (!assembly || assembly.tooBig) return;
      if (assembly.size + bytes.length > this.maxSize) {
        assembly.tooBig = true;
        assembly.parts = [];
        return;
      }
      assembly.parts.push(Buffer.from(bytes));
      assembly.size += bytes.length;
    };
    const parser = this._parser as ChunkingStream;
    const answer = (resume: () => void): void => {
      if (refusal) {
        this.send(refusal.code, refusal.text);
        return resume();
      }
      if (!last) {
        this.send(250, `2.0.0 ${size} octets received`);
        return resume();
      }
      this.finish(resume);
    };
    if (size === 0) return answer(callback);
    parser.startChunk(size, take, () => answer(() => parser.continueAfterChunk()));
    callback();
  }

  /** RFC 4468: BURL <imap-url> [LAST]: the server fetches the part itself. */
  handler_BURL(command: Buffer, callback: () => void): void {
    const burl = this.host.submission.ctx.burl;
    const m = /^BURL +(\S+)( +LAST)? *$/i.exec(command.toString('latin1'));
    if (!burl) {
      this.send(502, '5.5.1 BURL is not available');
      return callback();
    }
    if (!m) {
      this.send(501, '5.5.4 Syntax: BURL <imap-url> [LAST]');
      return callback();
    }
    const refusal = this.transactionRefusal();
    if (refusal) {
      this.send(refusal.code, refusal.text);
      return callback();
    }
    const url = m[1];
    const last = m[2] !== undefined;
    const assembly = (this.assembly ??= { parts: [], size: 0, tooBig: false });
    this._handlerPending = true;
    burl.resolve(this.session.user as User, url).then(
      ({ bytes, draft }) => {
        if (assembly.size + bytes.length > this.maxSize) {
          assembly.tooBig = true;
          assembly.parts = [];
        } else if (!assembly.tooBig) {
          assembly.parts.push(bytes);
          assembly.size += bytes.length;
          if (draft && !assembly.draft) assembly.draft = draft;
        }
        if (!last) {
          this.send(250, `2.5.0 ${bytes.length} octets added from the URL`);
          return callback();
        }
        this.finish(callback);
      },
      (err: unknown) => {
        const reply = smtpReplyOf(err, this.host.submission.ctx.log);
        this.send(reply.code, reply.text);
        callback();
      },
    );
  }

  /** Why BDAT/BURL cannot be part of a transaction now, or null. */
  private transactionRefusal(): { code: number; text: string } | null {
    if (!this.session.user) return { code: 530, text: '5.7.0 Authentication required' };
    if (!this.session.envelope.mailFrom) return { code: 503, text: '5.5.1 Need MAIL command' };
    if (this.session.envelope.rcptTo.length === 0) return { code: 503, text: '5.5.1 Need RCPT command' };
    return null;
  }

  /** After LAST: queue the assembled message, answer, start a new transaction. */
  private finish(resume: () => void): void {
    const assembly = this.assembly ?? { parts: [], size: 0, tooBig: false };
    const envelope = submittedEnvelope(this.session.envelope);
    const user = this.session.user as User;
    const done = (code: number, text: string): void => {
      this._handlerPending = false;
      this.send(code, text);
      this._resetSession();
      resume();
    };
    if (assembly.tooBig) return done(552, `5.3.4 Message exceeds fixed maximum message size ${this.maxSize}`);
    this._handlerPending = true;
    const raw = Buffer.concat(assembly.parts, assembly.size);
    this.host.submission.accept(user, envelope, raw, assembly.draft).then(
      (id) => done(250, `2.6.0 Message queued as ${id}`),
      (err: unknown) => {
        const reply = smtpReplyOf(err, this.host.submission.ctx.log);
        done(reply.code, reply.text);
      },
    );
  }
}

export function submittedEnvelope(env: SubmissionConnection['session']['envelope']): SubmittedEnvelope {
  const from = env.mailFrom ? env.mailFrom.address : '';
  return {
    mailFrom: from,
    recipients: env.rcptTo.map((r) => ({
      address: r.address,
      ...(r.dsn?.notify ? { notify: r.dsn.notify.map((n) => n.toUpperCase()) } : {}),
      ...(r.dsn?.orcpt ? { orcpt: r.dsn.orcpt } : {}),
    })),
    dsnRet: env.dsn?.ret ?? null,
    dsnEnvid: env.dsn?.envid ?? null,
  };
}
