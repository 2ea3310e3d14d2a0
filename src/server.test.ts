import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createTestDatabase } from '../test/context.ts';
import { startServer } from '../test/server.ts';

describe('the server console', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-console-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('at the default level shows no line per request; at debug it does', async () => {
    const db = await createTestDatabase();
    try {
      for (const [level, perRequest] of [['info', false], ['debug', true]] as const) {
        const server = await startServer({ dataDir, args: ['--no-demo'], env: { DATABASE_URL: db.url, KARTOTEKA_LOG_LEVEL: level } });
        try {
          for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/api/v1/health`)).status, 200);
          await new Promise((r) => setTimeout(r, 200));
          const lines = server.output().split('\n').filter((l) => l.includes('/api/v1/health'));
          assert.equal(lines.length > 0, perRequest, `${level}: ${lines.length} request lines`);
        } finally {
          server.child.kill();
        }
      }
    } finally {
      await db.drop();
    }
  });
});
