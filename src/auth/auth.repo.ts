import { sql } from 'kysely';
import type { Conn } from '../db/db.ts';

export async function findUserByLogin(db: Conn, login: string) {
  return db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['login']), '=', login.toLowerCase())).executeTakeFirst();
}

export async function countUsers(db: Conn): Promise<number> {
  const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertUser(db: Conn, u: { login: string; name: string; passwordHash: string; mustChangePassword: boolean }) {
  return db
    .insertInto('users')
    .values({ login: u.login, name: u.name, password_hash: u.passwordHash, must_change_password: u.mustChangePassword })
    .onConflict((oc) => oc.expression(sql`lower(login)`).doNothing())
    .returning(['id', 'login'])
    .executeTakeFirst();
}

export async function setPassword(db: Conn, userId: number, passwordHash: string) {
  await db.updateTable('users').set({ password_hash: passwordHash, must_change_password: false }).where('id', '=', userId).execute();
}

export async function insertSession(db: Conn, tokenHash: string, userId: number, expiresAt: Date) {
  await db.insertInto('sessions').values({ token_hash: tokenHash, user_id: userId, expires_at: expiresAt }).execute();
}

export async function deleteSession(db: Conn, tokenHash: string) {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}

/** Ends every session of the user but the one with `keepHash` (the caller's own, if any). */
export async function deleteOtherSessions(db: Conn, userId: number, keepHash: string | undefined) {
  let q = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepHash) q = q.where('token_hash', '!=', keepHash);
  await q.execute();
}

/** The live user behind a session token hash, or undefined if expired, unknown or disabled. */
export async function findSessionUser(db: Conn, tokenHash: string) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['u.id', 'u.login', 'u.name', 'u.role', 'u.must_change_password'])
    .where('s.token_hash', '=', tokenHash)
    .where('s.expires_at', '>', new Date())
    .where('u.disabled_at', 'is', null)
    .executeTakeFirst();
}

/** The live user behind an API token hash; stamps last use. */
export async function findTokenUser(db: Conn, tokenHash: string) {
  return db
    .updateTable('api_tokens as t')
    .from('users as u')
    .set({ last_used_at: new Date() })
    .whereRef('u.id', '=', 't.user_id')
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where('u.disabled_at', 'is', null)
    .returning(['t.id as tokenId', 'u.id', 'u.login', 'u.role'])
    .executeTakeFirst();
}

export async function insertToken(db: Conn, t: { userId: number; name: string; tokenHash: string; prefix: string }) {
  return db
    .insertInto('api_tokens')
    .values({ user_id: t.userId, name: t.name, token_hash: t.tokenHash, prefix: t.prefix })
    .returning(['id', 'name', 'prefix', 'created_at', 'last_used_at'])
    .executeTakeFirstOrThrow();
}

export async function listTokens(db: Conn, userId: number) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'prefix', 'created_at', 'last_used_at'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .execute();
}

export async function revokeToken(db: Conn, userId: number, id: number): Promise<boolean> {
  const r = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
