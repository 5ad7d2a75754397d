// smtp-server's command parser with one more mode: a BDAT chunk (RFC 3030), exactly N
// octets taken as they are (no dot-stuffing, no end marker), after which the parser
// pauses until the command handler has answered and calls continueAfterChunk().
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

type Done = (err?: Error | null) => void;

interface Chunk {
  left: number;
  onData(bytes: Buffer): void;
  onEnd(): void;
}

export class ChunkingStream extends SMTPStream {
  private chunk: Chunk | null = null;
  private afterChunk: (() => void) | null = null;

  /** Takes the next `size` octets (size > 0) as chunk data instead of commands. */
  startChunk(size: number, onData: (bytes: Buffer) => void, onEnd: () => void): void {
    this.chunk = { left: size, onData, onEnd };
    this._dataMode = true;
  }

  override _feedDataStream(data: Buffer, done: Done): void {
    const chunk = this.chunk;
    if (!chunk) return super._feedDataStream(data, done);
    const take = Math.min(chunk.left, data.length);
    if (take > 0) chunk.onData(data.subarray(0, take));
    chunk.left -= take;
    if (chunk.left > 0) return done();
    this.chunk = null;
    this._dataMode = false;
    this._remainder = '';
    const rest = data.subarray(take);
    // Commands pipelined after the chunk wait until the handler calls continueAfterChunk().
    this.afterChunk = () => (rest.length > 0 ? this._write(rest, 'buffer', done) : done());
    chunk.onEnd();
  }

  /** Resumes reading after a chunk's reply. Taken out first: reading on may start the next chunk. */
  continueAfterChunk(): void {
    const resume = this.afterChunk;
    this.afterChunk = null;
    resume?.();
  }
}
