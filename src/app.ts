// The Fastify app factory: routes, the one auth guard, the one error mapper,
// OpenAPI. Built per test with inject(), and by `kartoteka serve`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type RouteOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { registerAuthRoutes } from './auth/auth.routes.ts';
import { resolvePrincipal } from './auth/auth.service.ts';
import { authorize, PERMISSIONS } from './auth/permissions.ts';
import { registerBaseRoutes } from './bases/bases.routes.ts';
import { registerBulkRoutes } from './bulk/bulk.routes.ts';
import { registerExportRoutes } from './export/export.routes.ts';
import { registerImportRoutes } from './import/import.routes.ts';
import { registerFieldRoutes } from './fields/fields.routes.ts';
import { registerFindRoutes } from './find/find.routes.ts';
import { configureFacets } from './find/facets.ts';
import { setFacetMode } from './find/find.service.ts';
import { registerHealthRoutes } from './http/health.routes.ts';
import { AppError } from './errors/errors.ts';
import { registerJobRoutes } from './jobs/jobs.routes.ts';
import { sendProblem } from './http/problem.ts';
import type { Api, AppContext } from './http/types.ts';
import { registerProfileRoutes } from './profiles/profiles.routes.ts';
import { registerSegmentRoutes } from './segments/segments.routes.ts';
import { registerTableRoutes } from './table/table.routes.ts';
import { registerTagRoutes } from './tags/tags.routes.ts';

export const API_PREFIX = '/api/v1';
/** Where `npm run build` puts the web UI. */
export const WEB_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'web');

/**
 * onRoute hook: every API route must say what it needs (a known permission, and
 * a `base` that names one of its path parameters): an undeclared route fails
 * start-up, not a review.
 */
export function requirePermissionHook(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): void {
  if (route.url !== API_PREFIX && !route.url.startsWith(`${API_PREFIX}/`)) return;
  const where = `Route ${String(route.method)} ${route.url}`;
  const permission = route.config?.permission;
  if (!permission) throw new Error(`${where} declares no permission`);
  if (!(PERMISSIONS as readonly string[]).includes(permission)) throw new Error(`${where} declares an unknown permission "${permission}"`);
  const base = route.config?.base;
  if (base !== undefined && !route.url.split('/').includes(`:${base}`)) throw new Error(`${where} names base parameter "${base}" that is not in its path`);
}

export async function buildApp(ctx: AppContext, opts: { logger?: boolean } = {}): Promise<Api> {
  const app = Fastify({
    logger: opts.logger ? { level: ctx.config.logLevel } : false,
    // A line per request only when asked for (debug, trace): at info the console shows what needs attention.
    logController: new LogController({ disableRequestLogging: !['debug', 'trace'].includes(ctx.config.logLevel) }),
    bodyLimit: ctx.config.bodyLimit,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors the router raises before any route runs (a malformed %-escape in the URL, …) are problems too.
    frameworkErrors: (error, req, reply) => sendProblem(req, reply, error, ctx.config.bodyLimit),
  }).withTypeProvider<ZodTypeProvider>();
  setFacetMode(ctx.config.facets);
  configureFacets({ budgetBytes: ctx.config.countIndexBytes, log: (msg, err) => app.log.error({ err }, msg) });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.addHook('onRoute', requirePermissionHook);

  // A bodiless request (curl -X DELETE with the usual JSON header) is not an empty JSON document.
  app.addHook('onRequest', async (req) => {
    const h = req.headers;
    if (h['content-type'] && !h['transfer-encoding'] && (h['content-length'] === undefined || h['content-length'] === '0')) delete h['content-type'];
  });

  // The one guard: authenticate, then authorize the route's permission on its base.
  app.addHook('onRequest', async (req) => {
    const permission = req.routeOptions.config?.permission;
    if (!permission || permission === 'public') return;
    const principal = await resolvePrincipal(ctx.db, ctx.config.adminToken, req.headers);
    if (!principal) throw new AppError('unauthorized', { detail: 'unauthorized.missing' });
    const baseParam = req.routeOptions.config.base;
    const raw = baseParam ? (req.params as Record<string, string>)[baseParam] : undefined;
    const decision = authorize(principal, permission, raw === undefined ? undefined : Number(raw));
    if (!decision.ok) {
      throw decision.reason === 'password_change_required'
        ? new AppError('password_change_required', { detail: 'password_change_required' })
        : new AppError('forbidden', { detail: 'forbidden.permission', params: { permission } });
    }
    req.principal = principal;
  });

  app.setErrorHandler((error, req, reply) => sendProblem(req, reply, error, ctx.config.bodyLimit));
  // The web UI (npm run build): its files at /, and its index for any other page address it routes itself.
  const ui = fs.existsSync(path.join(WEB_DIR, 'index.html'));
  if (ui) await app.register(fastifyStatic, { root: WEB_DIR, prefix: '/', wildcard: false, index: 'index.html' });
  app.setNotFoundHandler((req, reply) => {
    if (ui && req.method === 'GET' && !req.url.startsWith(API_PREFIX) && !req.url.startsWith('/api/')) return reply.sendFile('index.html');
    return sendProblem(req, reply, new AppError('not_found', { detail: 'not_found.route', params: { method: req.method, url: req.url.split('?')[0]! } }), ctx.config.bodyLimit);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kartoteka API',
        version: '1',
        description:
          'Client database: profile bases, fields, profiles. Authenticate with `Authorization: Bearer <API key>` or the session cookie from `POST /api/v1/auth/login`. Errors are `application/problem+json`; messages follow `Accept-Language` (ru by default, en).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'kartoteka_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  await app.register(
    async (api) => {
      const typed = api.withTypeProvider<ZodTypeProvider>() as unknown as Api;
      registerHealthRoutes(typed, ctx);
      registerAuthRoutes(typed, ctx);
      registerBaseRoutes(typed, ctx);
      registerFieldRoutes(typed, ctx);
      registerFindRoutes(typed, ctx);
      registerProfileRoutes(typed, ctx);
      registerTagRoutes(typed, ctx);
      registerSegmentRoutes(typed, ctx);
      registerTableRoutes(typed, ctx);
      registerBulkRoutes(typed, ctx);
      registerJobRoutes(typed, ctx);
      registerExportRoutes(typed, ctx);
      registerImportRoutes(typed, ctx);
      typed.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: API_PREFIX },
  );
  return app as unknown as Api;
}
