import { z } from 'zod';
import { facetsHealth } from '../find/facets.ts';
import type { Api, AppContext } from './types.ts';

const Health = z.object({
  status: z.literal('ok'),
  database: z.object({ engine: z.enum(['embedded', 'external']), version: z.string() }),
  countIndex: z
    .object({
      bases: z.number().describe('Bases whose counts go through the in-memory count index'),
      memoryMb: z.number(),
      budgetMb: z.number().describe('KARTOTEKA_COUNT_INDEX_MB: the least recently counted base is evicted beyond it'),
      building: z.array(z.number()).describe('Bases whose index is being built (their counts go to SQL meanwhile)'),
      failed: z.array(z.object({ baseId: z.number(), message: z.string(), at: z.string() })).describe('The last failed build of each base (also in the log)'),
    })
    .describe('The in-memory count index (src/find/facets.ts)'),
});

export function registerHealthRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/health',
    { config: { permission: 'public' }, schema: { tags: ['health'], summary: 'Liveness and database check', security: [], response: { 200: Health } } },
    async () => {
      await ctx.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      return { status: 'ok' as const, database: { engine: ctx.engine, version: ctx.version }, countIndex: facetsHealth() };
    },
  );
}
