import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';

describe('configuration', () => {
  it('the import batch size: 10,000 by default, a positive whole number, a bad value named at start', () => {
    assert.equal(loadConfig({}).importBatchSize, 10_000);
    assert.equal(loadConfig({ KARTOTEKA_IMPORT_BATCH_SIZE: '500' }).importBatchSize, 500);
    for (const bad of ['0', '-5', '1.5', 'many']) assert.throws(() => loadConfig({ KARTOTEKA_IMPORT_BATCH_SIZE: bad }), /Invalid configuration:\n {2}KARTOTEKA_IMPORT_BATCH_SIZE: /, bad);
  });
});
