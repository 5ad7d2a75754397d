// AUTHENTICATE (RFC 9051 6.2.2) with PLAIN (RFC 4616) and SASL-IR (RFC 4959).
import { MemgateError, ProtocolError } from '../../core/errors';
import { NOT_AUTHENTICATED, command } from './types';
import { authenticateUser } from '../auth';
import type { Session } from '../session';

export default command({
  name: 'AUTHENTICATE',
  states: NOT_AUTHENTICATED,
  parse(p) {
    p.sp();
    const mechanism = p.atom().toUpperCase();
    let initial: string | null = null;
    if (p.take(' ')) initial = p.atom('=');
    p.end();
    return { mechanism, initial };
  },
  async handle(session, { mechanism, initial }) {
    if (mechanism !== 'PLAIN') throw new MemgateError(`Unsupported mechanism ${mechanism}`, { imapCode: 'CANNOT' });
    if (!session.secure) {
      throw new MemgateError('Authentication is disabled until TLS is active', { imapCode: 'PRIVACYREQUIRED' });
    }
    const response = initial ?? (await askClient(session));
    if (response === '*') throw new ProtocolError('Authentication cancelled');
    const decoded = response === '=' ? Buffer.alloc(0) : decodeBase64(response);
    const parts = decoded.toString('utf8').split('\0');
    if (parts.length !== 3) throw new ProtocolError('Malformed PLAIN response');
    const [authzid, authcid, password] = parts;
    if (authzid !== '' && authzid !== authcid) {
      throw new MemgateError('Acting as another user is not allowed', { imapCode: 'AUTHORIZATIONFAILED' });
    }
    await authenticateUser(session, authcid, password);
    return { code: `CAPABILITY ${session.capabilityList().join(' ')}`, text: 'AUTHENTICATE completed' };
  },
});

function askClient(session: Session): Promise<string> {
  return new Promise((resolve) => {
    session.continuation = (line) => {
      session.continuation = null;
      resolve(line.toString('latin1').trim());
    };
    session.send('+ ');
  });
}

function decodeBase64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new ProtocolError('Invalid base64 in SASL response');
  return Buffer.from(text, 'base64');
}
