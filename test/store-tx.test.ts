// inTransaction (app/store/schema.ts): one transaction wrapper per connection instead of one built per
// call, with the same behaviour as db.transaction(): commit, rollback on a throw, a savepoint when
// nested (an inner throw undoes only the inner part), and immediate taking the write lock at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { inTransaction } from '../app/store/schema.js';
import { tmpDir } from './helpers.js';

test('inTransaction commits, rolls back on a throw, nests as a savepoint, and locks at once when immediate', () => {
  const file = path.join(tmpDir(), 'tx.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v INTEGER)');
  const add = db.prepare('INSERT INTO t VALUES (?)');
  const all = () => db.prepare('SELECT v FROM t ORDER BY v').pluck().all();

  assert.equal(
    inTransaction(db, () => add.run(1).changes),
    1,
  );
  assert.throws(() =>
    inTransaction(db, () => {
      add.run(2);
      throw new Error('boom');
    }),
  );
  assert.deepEqual(all(), [1]);
  assert.equal(db.inTransaction, false);

  inTransaction(db, () => {
    add.run(3);
    assert.throws(() =>
      inTransaction(db, () => {
        add.run(4);
        throw new Error('inner');
      }),
    );
    add.run(5);
  });
  assert.deepEqual(all(), [1, 3, 5]);

  // immediate: another connection cannot write while the transaction is open, even before its first write
  const other = new Database(file, { timeout: 0 });
  inTransaction(
    db,
    () => {
      assert.throws(() => other.prepare('INSERT INTO t VALUES (9)').run(), /locked|busy/i);
    },
    true,
  );
  inTransaction(db, () => {
    other.prepare('INSERT INTO t VALUES (6)').run(); // deferred: nothing held yet
  });
  assert.deepEqual(all(), [1, 3, 5, 6]);
  other.close();
  db.close();
});
