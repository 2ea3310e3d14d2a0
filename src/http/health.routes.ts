import { z } from 'zod';
import type { Api, AppContext } from './types.ts';

const Health = z.object({
  status: z.literal('ok'),
  database: z.object({ engine: z.enum(['embedded', 'external']), version: z.string() }),
});

export function registerHealthRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/health',
    { config: { permission: 'public' }, schema: { tags: ['health'], summary: 'Liveness and database check', security: [], response: { 200: Health } } },
    async () => {
      await ctx.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      return { status: 'ok' as const, database: { engine: ctx.engine, version: ctx.version } };
    },
  );
}
