// Mocha hooks for the usual conversation set-up: one test server and one user for a
// describe block, and raw connections already logged in as that user.
import { RawClient } from './raw-client';
import { startTestServer, type TestServer } from './server';

export interface ServerWithUser {
  readonly server: TestServer;
  readonly creds: { user: string; password: string };
  /** A new connection, logged in (tag `l`). */
  login(opts?: { keepRecent?: boolean }): Promise<RawClient>;
}

/** Call inside describe(): starts the server and adds the user before the tests, stops after. */
export function serverWithUser(): ServerWithUser {
  let server: TestServer | null = null;
  let creds: { user: string; password: string } | null = null;
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());
  const ready = () => {
    if (!server || !creds) throw new Error('serverWithUser: used outside its describe block');
    return { server, creds };
  };
  return {
    get server() {
      return ready().server;
    },
    get creds() {
      return ready().creds;
    },
    async login(opts = {}) {
      const { server: s, creds: c } = ready();
      const client = await RawClient.connect(s.port, opts);
      await client.command('l', `LOGIN ${c.user} ${c.password}`);
      return client;
    },
  };
}
