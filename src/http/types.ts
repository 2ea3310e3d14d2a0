import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Permission, Principal } from '../auth/permissions.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/db.ts';

export type Api = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression<RawServerDefault>,
  RawReplyDefaultExpression<RawServerDefault>,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What route modules need from the running app. */
export interface AppContext {
  db: Db;
  config: Config;
  engine: 'embedded' | 'external';
  version: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission the route needs; every /api route must declare one. */
    permission?: Permission;
    /** Name of the path parameter that holds the base id the route touches. */
    base?: string;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The caller, for handlers of authenticated routes (the guard guarantees it is set). */
export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new Error('route without authentication asked for a principal');
  return req.principal;
}
