import { principalOf, type Api, type AppContext } from '../http/types.ts';
import { BaseParams, TableSettings, TableSettingsOut } from './table.schema.ts';
import * as service from './table.service.ts';

const tags = ['table'];

export function registerTableRoutes(app: Api, ctx: AppContext) {
  app.get(
    '/bases/:baseId/table-settings',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'My clients table for this base: columns, pinned columns, sort (defaults until saved)', params: BaseParams, response: { 200: TableSettingsOut } },
    },
    async (req) => service.getSettings(ctx.db, req.params.baseId, principalOf(req)),
  );

  app.put(
    '/bases/:baseId/table-settings',
    {
      config: { permission: 'profiles.read', base: 'baseId' },
      schema: { tags, summary: 'Save my clients table for this base', params: BaseParams, body: TableSettings, response: { 200: TableSettingsOut } },
    },
    async (req) => service.putSettings(ctx.db, req.params.baseId, principalOf(req), req.body),
  );
}
