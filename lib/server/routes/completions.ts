/** POST /v1/completions: OpenAI's (legacy) text completions, prompt as text or token ids, with echo. */
import { randomBytes } from 'crypto';

import type { RecurrentGemma } from '../../model';
import type { ServerContext } from '../context';
import { ApiError } from '../errors';
import { generationPlan, refuseUnsupportedCompletion } from '../params';
import { completionBodySchema, type CompletionBody } from '../schemas';
import { finishReason, runGeneration, type EndpointShape } from './run';

function promptIds(model: RecurrentGemma, prompt: number[]): number[] {
  try {
    return Array.from(model.checkTokens(prompt));
  } catch (e) {
    throw new ApiError(400, `prompt: ${(e as Error).message}`, { param: 'prompt', code: 'invalid_value' });
  }
}

export function registerCompletions(ctx: ServerContext): void {
  ctx.app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionBodySchema } }, async (request, reply) => {
    const body = request.body;
    const { scheduler, model } = ctx.ready();
    ctx.checkModel(body.model);
    refuseUnsupportedCompletion(body);
    // Text is encoded with <bos> first, as model.complete() does; token ids are used exactly as given.
    const ids = typeof body.prompt === 'string' ? model.tokenizer.encode(body.prompt, { addBos: true }) : promptIds(model, body.prompt);
    const plan = generationPlan(body, ids.length, ctx.limits, 'prompt');
    const echo = body.echo ? (typeof body.prompt === 'string' ? body.prompt : model.hasTokenizer ? model.tokenizer.decode(ids, { skipSpecialTokens: true }) : '') : '';
    const id = `cmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'text_completion', created, model: ctx.modelId, system_fingerprint: ctx.systemFingerprint };
    const usageField = plan.includeUsage ? { usage: null } : {};
    const withIds = body.return_token_ids === true;
    const chunk = (index: number, text: string, reason: string | null, tokenIds?: number[]) => ({
      ...head,
      choices: [{ index, text, logprobs: null, finish_reason: reason, ...(tokenIds ? { token_ids: tokenIds } : {}) }],
      ...usageField,
    });
    const shape: EndpointShape = {
      opening: echo || withIds ? (index) => ({ ...chunk(index, echo, null, withIds ? [] : undefined), ...(withIds ? { prompt_token_ids: ids } : {}) }) : undefined,
      text: (index, text, token) => chunk(index, text, null, withIds ? [token] : undefined),
      everyToken: withIds,
      finish: (index, reason) => chunk(index, '', reason, withIds ? [] : undefined),
      usage: (usage) => ({ ...head, choices: [], usage }),
      body: (r) => ({
        ...head,
        choices: r.choices.map((c) => ({ index: c.index, text: echo + c.text, logprobs: null, finish_reason: finishReason(c), ...(withIds ? { token_ids: c.tokens } : {}) })),
        ...(withIds ? { prompt_token_ids: ids } : {}),
        usage: ctx.usage(r),
      }),
    };
    await runGeneration(scheduler, ctx.inflight, request, reply, { ids }, plan, shape);
  });
}
