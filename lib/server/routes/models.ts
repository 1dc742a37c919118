/** GET /v1/models, GET /v1/models/:model and GET /health. */
import type { ServerContext } from '../context';
import { ApiError } from '../errors';

export function registerModels(ctx: ServerContext): void {
  const card = () => ({ id: ctx.modelId, object: 'model', created: ctx.created, owned_by: 'recurrentgemma' });
  ctx.app.get('/v1/models', async () => ({ object: 'list', data: [card()] }));
  ctx.app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    if (request.params.model !== ctx.modelId)
      throw new ApiError(404, `The model '${request.params.model}' does not exist (this server serves '${ctx.modelId}')`, { param: 'model', code: 'model_not_found' });
    return card();
  });
  ctx.app.get('/health', async () => ctx.health());
}
