// openDatabase: the embedded server's life cycle, and migrations.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../src/store/database';
import { InProcessEventBus } from '../../src/store/event-bus';
import { PgMailStore } from '../../src/store/pg-mail-store';
import { testDatabaseUrl } from '../support/db';

const DATABASE_JS = path.resolve(__dirname, '..', '..', 'src', 'store', 'database.js');

async function migrationCount(db: Database): Promise<number> {
  const [row] = await db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM migrations');
  return Number(row.n);
}

describe('store: openDatabase', function () {
  this.timeout(120000);
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'memgate-dbtest-'));
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('initialises an embedded cluster once and reuses it with its data', async () => {
    const first = await openDatabase({ dataDir });
    assert.match(first.url, /^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/memgate$/);
    await new PgMailStore(first.dataSource, new InProcessEventBus()).createUser('persisted', 'pw');
    const applied = await migrationCount(first);
    assert.ok(applied >= 1);
    await first.close();
    await first.close(); // idempotent

    const second = await openDatabase({ dataDir });
    try {
      assert.ok(await new PgMailStore(second.dataSource, new InProcessEventBus()).authenticate('persisted', 'pw'));
      assert.equal(await migrationCount(second), applied, 'no migration ran twice');
    } finally {
      await second.close();
    }
  });

  it('starts again after the process that ran it was killed with SIGKILL', async () => {
    const script = `
      require(${JSON.stringify(DATABASE_JS)}).openDatabase({ dataDir: ${JSON.stringify(dataDir)} })
        .then((db) => console.log('ready ' + db.url), (e) => { console.error(e); process.exit(2); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('ready ') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const db = await openDatabase({ dataDir });
    try {
      assert.ok(await new PgMailStore(db.dataSource, new InProcessEventBus()).authenticate('persisted', 'pw'));
    } finally {
      await db.close();
    }
  });

  it('lets several processes migrate one fresh database at the same time', async () => {
    const url = await testDatabaseUrl();
    const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ dataDir, databaseUrl: url })));
    try {
      assert.equal(dbs[0].url, url);
      const counts = await Promise.all(dbs.map(migrationCount));
      assert.ok(counts.every((c) => c === counts[0] && c >= 1));
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  });
});
