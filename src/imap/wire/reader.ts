// Incremental command framing (RFC 9051 2.2, 4.3; RFC 7888 literals). Bytes go in as
// they arrive; complete commands (the line plus every literal it announces) come out.
// The reader knows nothing about commands: it only frames, and tells the session when a
// synchronizing literal needs a continuation request or a limit was crossed.

export type ReaderEvent =
  /** One whole command: lines and literal bytes, without the final CRLF. */
  | { kind: 'command'; bytes: Buffer }
  /** The client waits for "+" before sending a synchronizing literal. */
  | { kind: 'continue'; size: number }
  /** The command was dropped: the session answers with the tag (if it was readable). */
  | { kind: 'rejected'; reason: 'line-too-long' | 'literal-too-big'; tag: string | null; size?: number };

export interface ReaderLimits {
  maxLineLength: number;
  maxLiteralSize: number;
}

const LITERAL_AT_END = /(~?)\{(\d{1,12})([+-]?)\}$/;

export class CommandReader {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private parts: Buffer[] = [];
  /** Literal bytes still expected for the current command. */
  private literalLeft = 0;
  /** True while skipping the rest of a command that was rejected. */
  private discarding: { reason: 'line-too-long' | 'literal-too-big'; tag: string | null; size?: number } | null = null;
  private discardLine = false;

  constructor(private readonly limits: ReaderLimits) {}

  /** Feeds bytes; returns the events they complete, in order. */
  push(chunk: Buffer): ReaderEvent[] {
    const events: ReaderEvent[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, data.length);
        if (!this.discarding) this.parts.push(data.subarray(0, take));
        this.literalLeft -= take;
        data = data.subarray(take);
        continue;
      }
      const nl = data.indexOf(0x0a);
      if (nl < 0) {
        this.appendPending(data, events);
        break;
      }
      this.appendPending(data.subarray(0, nl + 1), events);
      data = data.subarray(nl + 1);
      this.endOfLine(events);
    }
    return events;
  }

  private appendPending(bytes: Buffer, events: ReaderEvent[]): void {
    if (this.discardLine) return;
    this.pending.push(bytes);
    this.pendingLength += bytes.length;
    if (this.pendingLength > this.limits.maxLineLength && !this.discarding) {
      const head = Buffer.concat(this.parts.length > 0 ? [this.parts[0]] : this.pending);
      this.discarding = { reason: 'line-too-long', tag: tagOf(head) };
      this.discardLine = true;
      this.pending = [];
      this.pendingLength = 0;
      void events;
    }
  }

  private endOfLine(events: ReaderEvent[]): void {
    if (this.discardLine) {
      this.discardLine = false;
      this.finishDiscard(events);
      return;
    }
    let line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLength = 0;
    // Strip the line end (CRLF, or a bare LF from a lenient client).
    let end = line.length - 1;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    line = line.subarray(0, end);
    const tail = line.subarray(Math.max(0, line.length - 20)).toString('latin1');
    const m = LITERAL_AT_END.exec(tail);
    if (!m) {
      if (this.discarding) {
        this.finishDiscard(events);
        return;
      }
      this.parts.push(line);
      const bytes = ownCopy(this.parts);
      this.parts = [];
      events.push({ kind: 'command', bytes });
      return;
    }
    const size = Number(m[2]);
    const synchronizing = m[3] === '';
    if (this.discarding) {
      // Skip what a non-synchronizing literal sends anyway; a synchronizing one never comes.
      if (!synchronizing) this.literalLeft = size;
      else this.finishDiscard(events);
      return;
    }
    this.parts.push(line, CRLF);
    if (size > this.limits.maxLiteralSize) {
      this.discarding = { reason: 'literal-too-big', tag: tagOf(this.parts[0]), size };
      this.parts = [];
      if (!synchronizing) this.literalLeft = size;
      else this.finishDiscard(events);
      return;
    }
    this.literalLeft = size;
    if (synchronizing) events.push({ kind: 'continue', size });
  }

  private finishDiscard(events: ReaderEvent[]): void {
    if (!this.discarding) return;
    events.push({ kind: 'rejected', ...this.discarding });
    this.discarding = null;
    this.parts = [];
  }
}

const CRLF = Buffer.from('\r\n');

/** The tag of a command, if its first word looks like one. */
export function tagOf(bytes: Buffer): string | null {
  const text = bytes.subarray(0, 200).toString('latin1');
  const m = /^([^\x00-\x20\x7f(){%*"\\+]+) /.exec(text);
  return m ? m[1] : null;
}

/**
 * Joins a command's pieces into a buffer of its own. Buffer.concat takes small buffers from
 * Node's shared 8 KB pool, and a command that stays referenced for a long time (IDLE waits
 * for DONE for up to 30 minutes) would keep a whole pool slab alive: about 8 KB per idle
 * connection.
 */
function ownCopy(parts: Buffer[]): Buffer {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  return out;
}
