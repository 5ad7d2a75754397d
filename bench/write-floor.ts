// The floor under an IDLE fan-out on this machine: one small write (an EXISTS/RECENT pair)
// to each of N loopback TCP sockets, with the readers in another process, and nothing else.
// memgate cannot push an event to N sessions for less CPU than this.
//
//   node dist/bench/write-floor.js [N=10000] [rounds=6]     (N below `ulimit -n` of one process)
import { fork } from 'node:child_process';
import net from 'node:net';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 6);
const PAYLOAD = '* 21 EXISTS\r\n* 0 RECENT\r\n';

if (process.argv[2] === 'reader') {
  // Child: N connections from several source addresses; tells the parent when each round arrived.
  const [count, port] = [Number(process.argv[3]), Number(process.argv[4])];
  let opened = 0;
  let received = 0;
  for (let i = 0; i < count; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + Math.floor(i / 10_000)}` });
    s.on('connect', () => {
      if (++opened === count) process.send?.('open');
    });
    s.on('error', (err) => {
      console.error(`reader: ${String(err)}`);
      process.exit(1);
    });
    s.on('data', () => {
      if (++received % count === 0) process.send?.('got');
    });
  }
  process.on('disconnect', () => process.exit(0));
} else {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    sockets.push(s);
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    const port = (server.address() as net.AddressInfo).port;
    const reader = fork(__filename, ['reader', String(N), String(port)]);
    reader.once('exit', (code) => {
      if (code) process.exit(code);
    });
    const next = () => new Promise((resolve) => reader.once('message', resolve));
    void (async () => {
      await next();
      while (sockets.length < N) await new Promise((r) => setTimeout(r, 10));
      console.log(`${N} loopback connections; one ${PAYLOAD.length}-byte write to each, per round`);
      for (let r = 0; r < ROUNDS; r++) {
        await new Promise((res) => setTimeout(res, 300));
        const arrived = next();
        const cpu = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (const s of sockets) s.write(PAYLOAD);
        const t1 = process.hrtime.bigint();
        const used = process.cpuUsage(cpu);
        await arrived;
        const t2 = process.hrtime.bigint();
        const us = (a: bigint, b: bigint) => Number(b - a) / 1000;
        console.log(
          `round ${r + 1}: writes took ${(us(t0, t1) / 1000).toFixed(1)} ms (${(us(t0, t1) / N).toFixed(1)} µs each), ` +
            `CPU ${((used.user + used.system) / N).toFixed(1)} µs each (system ${(used.system / N).toFixed(1)}); ` +
            `all read after ${(us(t0, t2) / 1000).toFixed(1)} ms`,
        );
      }
      reader.kill();
      process.exit(0);
    })();
  });
}
