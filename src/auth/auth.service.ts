import crypto from 'node:crypto';
import { promisify } from 'node:util';
import type { Db } from '../db/db.ts';
import { AppError, FieldErrors, notFound } from '../errors/errors.ts';
import * as repo from './auth.repo.ts';
import type { Principal } from './permissions.ts';

const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const SESSION_COOKIE = 'kartoteka_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
import { MIN_PASSWORD } from './password.ts';

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return crypto.timingSafeEqual(got, expected);
}

export const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const randomToken = (prefix: string) => prefix + crypto.randomBytes(30).toString('base64url');

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

/** Creates the first administrator on an empty installation and returns its one-time password. */
export async function ensureAdmin(db: Db): Promise<{ login: string; password: string } | undefined> {
  if ((await repo.countUsers(db)) > 0) return undefined;
  const password = crypto.randomBytes(12).toString('base64url');
  const created = await repo.insertUser(db, { login: 'admin', name: 'Administrator', passwordHash: await hashPassword(password), mustChangePassword: true });
  return created ? { login: 'admin', password } : undefined; // another process won the race
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const raw = part.slice(i + 1).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw; // a malformed %-escape is the client's problem, not a 500
    }
    out[part.slice(0, i).trim()] ??= value; // the first cookie of a name wins (RFC 6265 §5.4)
  }
  return out;
}

/** Who is calling: a Bearer API token (or the env admin token), else the session cookie. */
export async function resolvePrincipal(
  db: Db,
  adminToken: string | undefined,
  headers: { authorization?: string; cookie?: string },
): Promise<Principal | undefined> {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new AppError('unauthorized', { detail: 'unauthorized.invalid' });
    const token = m[1]!;
    if (adminToken && sameSecret(token, adminToken)) {
      return { kind: 'env', userId: null, login: 'admin-token', role: 'admin', mustChangePassword: false, actor: 'env' };
    }
    const u = await repo.findTokenUser(db, sha256(token));
    if (!u) throw new AppError('unauthorized', { detail: 'unauthorized.invalid' });
    return { kind: 'token', userId: u.id, login: u.login, role: 'admin', mustChangePassword: false, actor: `token:${u.tokenId}` };
  }
  const session = parseCookies(headers.cookie)[SESSION_COOKIE];
  if (!session) return undefined;
  const u = await repo.findSessionUser(db, sha256(session));
  if (!u) throw new AppError('unauthorized', { detail: 'unauthorized.invalid' });
  return { kind: 'session', userId: u.id, login: u.login, role: 'admin', mustChangePassword: u.must_change_password, actor: `user:${u.id}` };
}

export async function login(db: Db, loginName: string, password: string) {
  const user = await repo.findUserByLogin(db, loginName);
  // Verify against a dummy hash when the user is unknown, so timing does not reveal logins.
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !ok || user.disabled_at) throw new AppError('unauthorized', { detail: 'unauthorized.credentials' });
  const token = randomToken('');
  await repo.insertSession(db, sha256(token), user.id, new Date(Date.now() + SESSION_TTL_MS));
  return { token, user };
}

export async function logout(db: Db, cookieHeader: string | undefined) {
  const session = parseCookies(cookieHeader)[SESSION_COOKIE];
  if (session) await repo.deleteSession(db, sha256(session));
}

/**
 * Checks the current password and the new one together, so the caller hears
 * every problem at once. On success every other session of the user ends (whoever
 * else knew the old password is signed out); the caller's own session, named by
 * its Cookie header, stays.
 */
export async function changePassword(db: Db, userId: number, current: string, next: string, cookieHeader?: string) {
  const user = await db.selectFrom('users').select(['password_hash']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw notFound('user', userId);
  const errors = new FieldErrors();
  if (!(await verifyPassword(current, user.password_hash))) errors.add('currentPassword', 'password_wrong');
  if (next.length < MIN_PASSWORD) errors.add('newPassword', 'password_weak', { min: MIN_PASSWORD });
  else if (next === current) errors.add('newPassword', 'password_same');
  errors.throwIfAny();
  const hash = await hashPassword(next);
  const keep = parseCookies(cookieHeader)[SESSION_COOKIE];
  await db.transaction().execute(async (trx) => {
    await repo.setPassword(trx, userId, hash);
    await repo.deleteOtherSessions(trx, userId, keep ? sha256(keep) : undefined);
  });
}

export async function createToken(db: Db, userId: number, name: string) {
  const token = randomToken('kt_');
  const row = await repo.insertToken(db, { userId, name, tokenHash: sha256(token), prefix: token.slice(0, 10) });
  return { token, row };
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
