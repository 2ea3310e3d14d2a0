import { z } from 'zod';
import { AppError, notFound } from '../errors/errors.ts';
import { principalOf, type Api, type AppContext } from '../http/types.ts';
import * as repo from './auth.repo.ts';
import * as auth from './auth.service.ts';
import { CreatedToken, LoginBody, Me, PasswordBody, Token, TokenBody, TokenParams } from './auth.schema.ts';
import type { Principal } from './permissions.ts';

const tags = ['auth'];

function cookie(value: string, maxAgeSec: number): string {
  return `${auth.SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`;
}

const toToken = (r: { id: number; name: string; prefix: string; created_at: Date; last_used_at: Date | null }) => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
});

/** Tokens belong to a user; the env admin token acts for the first administrator. */
async function ownerId(ctx: AppContext, p: Principal): Promise<number> {
  if (p.userId !== null) return p.userId;
  const first = await ctx.db.selectFrom('users').select('id').where('role', '=', 'admin').orderBy('id').executeTakeFirst();
  if (!first) throw notFound('user', 'admin');
  return first.id;
}

export function registerAuthRoutes(app: Api, ctx: AppContext) {
  app.post(
    '/auth/login',
    { config: { permission: 'public' }, schema: { tags, summary: 'Sign in; sets the session cookie', security: [], body: LoginBody, response: { 200: Me } } },
    async (req, reply) => {
      const { token, user } = await auth.login(ctx.db, req.body.login, req.body.password);
      reply.header('set-cookie', cookie(token, auth.SESSION_TTL_MS / 1000));
      return { id: user.id, login: user.login, role: 'admin' as const, via: 'session' as const, mustChangePassword: user.must_change_password };
    },
  );

  app.post('/auth/logout', { config: { permission: 'self' }, schema: { tags, summary: 'Sign out (ends this session)', response: { 204: z.null() } } }, async (req, reply) => {
    await auth.logout(ctx.db, req.headers.cookie);
    reply.header('set-cookie', cookie('', 0)).code(204);
    return null;
  });

  app.get('/auth/me', { config: { permission: 'self' }, schema: { tags, summary: 'Who am I', response: { 200: Me } } }, async (req) => {
    const p = principalOf(req);
    return { id: p.userId, login: p.login, role: p.role, via: p.kind, mustChangePassword: p.mustChangePassword };
  });

  app.post(
    '/auth/password',
    { config: { permission: 'self' }, schema: { tags, summary: 'Change my password (the one-time password first)', body: PasswordBody, response: { 204: z.null() } } },
    async (req, reply) => {
      const p = principalOf(req);
      if (p.userId === null) throw new AppError('forbidden', { detail: 'forbidden.permission', params: { permission: 'self' } });
      await auth.changePassword(ctx.db, p.userId, req.body.currentPassword, req.body.newPassword, p.kind === 'session' ? req.headers.cookie : undefined);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/auth/tokens',
    { config: { permission: 'tokens.manage' }, schema: { tags, summary: 'My API keys', response: { 200: z.object({ items: z.array(Token) }) } } },
    async (req) => ({ items: (await repo.listTokens(ctx.db, await ownerId(ctx, principalOf(req)))).map(toToken) }),
  );

  app.post(
    '/auth/tokens',
    { config: { permission: 'tokens.manage' }, schema: { tags, summary: 'Create an API key (shown once)', body: TokenBody, response: { 201: CreatedToken } } },
    async (req, reply) => {
      const { token, row } = await auth.createToken(ctx.db, await ownerId(ctx, principalOf(req)), req.body.name);
      reply.code(201);
      return { ...toToken(row), token };
    },
  );

  app.delete(
    '/auth/tokens/:id',
    { config: { permission: 'tokens.manage' }, schema: { tags, summary: 'Revoke an API key', params: TokenParams, response: { 204: z.null() } } },
    async (req, reply) => {
      if (!(await repo.revokeToken(ctx.db, await ownerId(ctx, principalOf(req)), req.params.id))) throw notFound('token', req.params.id);
      reply.code(204);
      return null;
    },
  );
}
