// COMPRESS (RFC 4978): DEFLATE for the rest of the connection, once authenticated.
import { AUTHENTICATED, command } from './types';

export default command<string>({
  name: 'COMPRESS',
  states: AUTHENTICATED,
  parse(p) {
    p.sp();
    const mechanism = p.atom().toUpperCase();
    p.end();
    // RFC 4978 3: an unknown mechanism is an invalid argument (BAD).
    if (mechanism !== 'DEFLATE') p.fail(`Unknown compression mechanism ${mechanism.slice(0, 20)}`);
    return mechanism;
  },
  async handle(session, _mechanism, tag) {
    if (session.transport.compressionActive) {
      session.tagged(tag, 'NO', 'COMPRESSIONACTIVE', 'DEFLATE is already active');
      return { answered: true };
    }
    // The OK is the last uncompressed byte; whatever the client pipelined behind COMPRESS
    // was sent before it knew the answer and cannot be read as either form.
    session.tagged(tag, 'OK', null, 'DEFLATE active');
    session.resetReader();
    session.transport.startCompression();
    return { answered: true };
  },
});
