// Submission listeners (RFC 6409): port 587-style with STARTTLS and 465-style implicit TLS
// (RFC 8314), both smtp-server instances whose connections are SubmissionConnection.
import net from 'node:net';
import os from 'node:os';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import type { User } from '../core/ports';
import { Submission, smtpReplyOf, type SubmitContext } from './accept';
import { SubmissionConnection, submittedEnvelope, type SubmissionHost } from './connection';

export interface SubmissionServerOptions {
  host: string;
  /** STARTTLS port; null disables it, 0 binds a free port. */
  port: number | null;
  /** Implicit TLS port; null disables it, 0 binds a free port. */
  tlsPort: number | null;
  tls: { cert: Buffer; key: Buffer } | null;
}

export interface ListeningSubmission {
  port: number | null;
  tlsPort: number | null;
  close(): Promise<void>;
}

class SmtpFailure extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

class SubmissionServer extends SMTPServer implements SubmissionHost {
  constructor(
    readonly submission: Submission,
    options: SMTPServerOptions,
  ) {
    super(options);
  }

  plaintextAuthAllowed(remoteAddress: string): boolean {
    const ctx = this.submission.ctx;
    return ctx.allowPlaintextAuth || (isLoopback(remoteAddress) && ctx.loopbackIsSecure !== false);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new SubmissionConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }
}

function failure(err: unknown, submission: Submission): SmtpFailure {
  const reply = smtpReplyOf(err, submission.ctx.log);
  return new SmtpFailure(reply.code, reply.text);
}

function serverOptions(submission: Submission, secure: boolean, tlsFiles: SubmissionServerOptions['tls']): SMTPServerOptions {
  const { ctx } = submission;
  return {
    secure,
    ...(tlsFiles ? { key: tlsFiles.key, cert: tlsFiles.cert } : { disabledCommands: ['STARTTLS'] }),
    name: os.hostname(),
    banner: 'memgate ESMTP submission',
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    // SubmissionConnection refuses AUTH before TLS itself, with the loopback exception.
    allowInsecureAuth: true,
    size: ctx.maxMessageSize,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: false,
    hideSMTPUTF8: true,
    hideREQUIRETLS: true,
    closeTimeout: 2000,
    onAuth(auth, _session, callback) {
      if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') {
        return callback(new SmtpFailure(504, '5.5.4 Unrecognized authentication type'));
      }
      ctx.store.authenticate(auth.username ?? '', auth.password ?? '').then(
        (user) => {
          if (!user) return callback(new SmtpFailure(535, '5.7.8 Authentication credentials invalid'));
          callback(null, { user });
        },
        (err: unknown) => callback(failure(err, submission)),
      );
    },
    onMailFrom(address, session, callback) {
      submission.checkMailFrom(session.user as User, address.address).then(
        () => callback(),
        (err: unknown) => callback(failure(err, submission)),
      );
    },
    onData(stream, session, callback) {
      const collect = async (): Promise<Buffer> => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream) {
          // Past the limit the rest is only drained; smtp-server flags sizeExceeded.
          if (size + chunk.length <= ctx.maxMessageSize) chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        return Buffer.concat(chunks);
      };
      collect()
        .then((raw) => {
          if (stream.sizeExceeded) {
            throw new SmtpFailure(552, `5.3.4 Message exceeds fixed maximum message size ${ctx.maxMessageSize}`);
          }
          return submission.accept(session.user as User, submittedEnvelope(session.envelope), raw);
        })
        .then(
          (id) => callback(null, `Message queued as ${id}`),
          (err: unknown) => callback(err instanceof SmtpFailure ? err : failure(err, submission)),
        );
    },
  };
}

export async function startSubmissionServer(ctx: SubmitContext, opts: SubmissionServerOptions): Promise<ListeningSubmission> {
  const submission = new Submission(ctx);
  const servers: SubmissionServer[] = [];
  const listen = (server: SubmissionServer, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.server.removeListener('error', reject);
        servers.push(server);
        resolve((server.server.address() as net.AddressInfo).port);
      });
    });
  const close = (): Promise<void> =>
    Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  try {
    let port: number | null = null;
    let tlsPort: number | null = null;
    for (const [secure, wanted] of [
      [false, opts.port],
      [true, opts.tlsPort],
    ] as const) {
      if (wanted === null || (secure && !opts.tls)) continue;
      const server = new SubmissionServer(submission, serverOptions(submission, secure, opts.tls));
      server.on('error', (err: Error) => ctx.log.debug({ err }, 'submission connection error'));
      const bound = await listen(server, wanted);
      if (secure) tlsPort = bound;
      else port = bound;
    }
    return { port, tlsPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}
