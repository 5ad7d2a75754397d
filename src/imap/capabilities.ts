// CAPABILITY is derived from what is implemented and from the connection's state:
// nothing is advertised that a command file does not implement (RFC 9051 6.1.1).

export interface CapabilityContext {
  authenticated: boolean;
  /** TLS is active, or plaintext auth is allowed here (loopback or configured). */
  secure: boolean;
  tlsAvailable: boolean;
  tlsActive: boolean;
  /** URLAUTH is wired (it also resolves CATENATE's URLs). */
  urlauth?: boolean;
}

/** Extensions available in every state once logged in (and announced before, as RFC 5550 asks). */
const EXTENSIONS = [
  'IMAP4rev1',
  'IMAP4rev2',
  'LITERAL+',
  'SASL-IR',
  'ID',
  'ENABLE',
  'IDLE',
  'NAMESPACE',
  'UNSELECT',
  'UIDPLUS',
  'MOVE',
  'CHILDREN',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'SPECIAL-USE',
  'ESEARCH',
  'SEARCHRES',
  'BINARY',
  'CONDSTORE',
  'QRESYNC',
  'OBJECTID',
  'MULTIAPPEND',
  'UTF8=ACCEPT',
  'STATUS=SIZE',
  'SORT',
  'SORT=DISPLAY',
  'ESORT',
  'I18NLEVEL=1',
  'WITHIN',
  'PREVIEW',
  'UNAUTHENTICATE',
];

export function capabilities(ctx: CapabilityContext): string[] {
  const caps = [...EXTENSIONS];
  if (ctx.urlauth) caps.push('CATENATE', 'URLAUTH', 'URLAUTH=BINARY');
  if (!ctx.authenticated) {
    if (ctx.tlsAvailable && !ctx.tlsActive) caps.push('STARTTLS');
    if (ctx.secure) caps.push('AUTH=PLAIN');
    else caps.push('LOGINDISABLED');
  }
  // RFC 4978: COMPRESS is a command of the authenticated state; Dovecot, too, shows it then.
  if (ctx.authenticated) caps.push('COMPRESS=DEFLATE');
  return caps;
}

/** What ENABLE can turn on (RFC 5161). */
export const ENABLEABLE = new Set(['IMAP4REV2', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC']);
