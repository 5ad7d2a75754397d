// IDLE clients for bench/idle-fanout.ts, in a process of their own (forked, several of them
// for tens of thousands of connections), so that their CPU never counts as the server's
// and no process needs more file descriptors than its limit allows. Each connection is a
// lean state machine on a raw socket: greeting, LOGIN, SELECT INBOX, IDLE; after that it
// only looks for " EXISTS" in what arrives and notes the time of the first such chunk.
//
// Connections leave from several loopback source addresses (127.0.0.x), at most
// `perAddress` from each, so that the 28k ephemeral ports of one address never run out.
//
// IPC (times are epoch milliseconds with sub-millisecond precision, comparable across
// processes: performance.timeOrigin + performance.now()):
//   -> { type: 'open', targets: [{ port, count }], tls, sourceAddresses, perAddress, user, password, concurrency }
//   <- { type: 'progress', opened }            every 1,000 connections
//   <- { type: 'opened', ok, failed, firstFailure }
//   -> { type: 'arm' }                         <- { type: 'armed', cpu }   forget earlier arrivals
//   <- { type: 'all-arrived' }                 when every open connection has seen EXISTS
//   -> { type: 'collect' }                     <- { type: 'arrivals', times, missing, cpu, closed }
//   -> { type: 'close' }                       <- { type: 'closed' }  then exit
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface OpenRequest {
  type: 'open';
  targets: Array<{ port: number; count: number }>;
  /** Implicit TLS on the targets' ports (certificates not checked). */
  tls: boolean;
  sourceAddresses: string[];
  perAddress: number;
  user: string;
  password: string;
  concurrency: number;
}

export type ClientRequest = OpenRequest | { type: 'arm' } | { type: 'collect' } | { type: 'close' };

export interface Arrivals {
  type: 'arrivals';
  /** Arrival time of the first chunk holding EXISTS, per connection that saw one. */
  times: number[];
  missing: number;
  /** process.cpuUsage() of this client process (microseconds since its start). */
  cpu: NodeJS.CpuUsage;
  /** Connections the server closed since setup. */
  closed: number;
}

export const now = (): number => performance.timeOrigin + performance.now();

const EXISTS = Buffer.from(' EXISTS');

type Stage = 'greeting' | 'login' | 'select' | 'idle' | 'idling';

class IdleConnection {
  arrival = 0;
  closed = false;
  private stage: Stage = 'greeting';
  private text = '';
  private settle: ((err: Error | null) => void) | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly login: string,
    private readonly onArrival: () => void,
  ) {}

  static open(port: number, localAddress: string, useTls: boolean, login: string, onArrival: () => void): Promise<IdleConnection> {
    return new Promise((resolve, reject) => {
      const socket = useTls
        ? tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), rejectUnauthorized: false })
        : net.connect({ host: '127.0.0.1', port, localAddress });
      socket.setNoDelay(true);
      const conn = new IdleConnection(socket, login, onArrival);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('no IDLE continuation within 120 s'));
      }, 120_000);
      conn.settle = (err) => {
        clearTimeout(timer);
        conn.settle = null;
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve(conn);
      };
      socket.on('data', (chunk: Buffer) => conn.onData(chunk));
      socket.on('error', (err) => conn.settle?.(err));
      socket.on('close', () => {
        conn.closed = true;
        conn.settle?.(new Error(`closed during ${conn.stage}`));
      });
    });
  }

  onData(chunk: Buffer): void {
    if (this.stage === 'idling') {
      if (this.arrival === 0 && chunk.indexOf(EXISTS) >= 0) {
        this.arrival = now();
        this.onArrival();
      }
      return;
    }
    this.text += chunk.toString('latin1');
    let nl: number;
    while ((nl = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, nl).replace(/\r$/, '');
      this.text = this.text.slice(nl + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    const fail = () => this.settle?.(new Error(`${this.stage}: ${line.slice(0, 200)}`));
    switch (this.stage) {
      case 'greeting':
        if (!line.startsWith('* OK')) return fail();
        this.stage = 'login';
        this.socket.write(`a LOGIN ${this.login}\r\n`);
        return;
      case 'login':
        if (line.startsWith('* ')) return;
        if (!line.startsWith('a OK')) return fail();
        this.stage = 'select';
        this.socket.write('b SELECT INBOX\r\n');
        return;
      case 'select':
        if (line.startsWith('* ')) return;
        if (!line.startsWith('b OK')) return fail();
        this.stage = 'idle';
        this.socket.write('c IDLE\r\n');
        return;
      case 'idle':
        if (line.startsWith('* ')) return;
        if (!line.startsWith('+')) return fail();
        this.stage = 'idling';
        this.text = '';
        this.settle?.(null);
        return;
      case 'idling':
        return;
      default: {
        const never: never = this.stage;
        return never;
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const conns: IdleConnection[] = [];
let arrived = 0;
let armed = false;

function send(msg: object): void {
  process.send?.(msg);
}

function onArrival(): void {
  if (!armed) return;
  arrived++;
  if (arrived === conns.length) send({ type: 'all-arrived' });
}

async function open(req: OpenRequest): Promise<void> {
  const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const login = `${quote(req.user)} ${quote(req.password)}`;
  const jobs: Array<{ port: number; address: string }> = [];
  for (const t of req.targets) for (let i = 0; i < t.count; i++) jobs.push({ port: t.port, address: '' });
  jobs.forEach((job, i) => (job.address = req.sourceAddresses[Math.floor(i / req.perAddress)]));
  if (jobs.some((j) => j.address === undefined)) throw new Error('not enough source addresses for the connections asked');
  let next = 0;
  let failed = 0;
  let firstFailure = '';
  const runner = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      try {
        conns.push(await IdleConnection.open(job.port, job.address, req.tls, login, onArrival));
      } catch (err) {
        failed++;
        firstFailure ||= String(err);
      }
      const done = conns.length + failed;
      if (done % 1000 === 0) send({ type: 'progress', opened: conns.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, jobs.length) }, runner));
  send({ type: 'opened', ok: conns.length, failed, firstFailure });
}

process.on('message', (msg: ClientRequest) => {
  void (async () => {
    try {
      if (msg.type === 'open') await open(msg);
      else if (msg.type === 'arm') {
        for (const c of conns) c.arrival = 0;
        arrived = 0;
        armed = true;
        send({ type: 'armed', cpu: process.cpuUsage() });
      } else if (msg.type === 'collect') {
        armed = false;
        const times = conns.filter((c) => c.arrival > 0).map((c) => c.arrival);
        const report: Arrivals = {
          type: 'arrivals',
          times,
          missing: conns.length - times.length,
          cpu: process.cpuUsage(),
          closed: conns.filter((c) => c.closed).length,
        };
        send(report);
      } else if (msg.type === 'close') {
        for (const c of conns) c.close();
        send({ type: 'closed' });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  })();
});

process.on('disconnect', () => process.exit(0));
