import { sql } from 'kysely';
import type { Conn } from '../db/db.ts';
import type { BaseRow, BasesTable } from '../db/schema.ts';
import type { Insertable, Updateable } from 'kysely';

export async function getBase(db: Conn, id: number, opts: { forUpdate?: boolean } = {}): Promise<BaseRow | undefined> {
  const q = db.selectFrom('bases').selectAll().where('id', '=', id);
  return (opts.forUpdate ? q.forUpdate() : q).executeTakeFirst();
}

export async function listBases(db: Conn): Promise<BaseRow[]> {
  return db.selectFrom('bases').selectAll().orderBy('id').execute();
}

export async function insertBase(db: Conn, values: Insertable<BasesTable>): Promise<BaseRow> {
  return db.insertInto('bases').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateBase(db: Conn, id: number, values: Updateable<BasesTable>): Promise<BaseRow | undefined> {
  return db.updateTable('bases').set({ ...values, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteBase(db: Conn, id: number): Promise<boolean> {
  const r = await db.deleteFrom('bases').where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

/** The files the base's uploads and exports keep in the data folder (paths relative to it). */
export async function baseFiles(db: Conn, id: number): Promise<string[]> {
  const r = await sql<{ file_path: string }>`
    SELECT file_path FROM imports WHERE base_id = ${id}
    UNION ALL SELECT file_path FROM exports WHERE base_id = ${id} AND file_path IS NOT NULL`.execute(db);
  return r.rows.map((x) => x.file_path);
}

/** Next number for a generated card: one row lock on the base, so numbers never repeat. */
export async function nextCardSeq(db: Conn, id: number): Promise<{ seq: number; prefix: string; length: number }> {
  const r = await db
    .updateTable('bases')
    .set((eb) => ({ card_seq: eb('card_seq', '+', 1) }))
    .where('id', '=', id)
    .returning(['card_seq', 'card_prefix', 'card_length'])
    .executeTakeFirstOrThrow();
  return { seq: r.card_seq, prefix: r.card_prefix, length: r.card_length };
}
