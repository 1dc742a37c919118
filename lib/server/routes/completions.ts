/** POST /v1/completions: OpenAI's (legacy) text completions, prompt as text or token ids, with echo. */
import { randomBytes } from 'crypto';

import type { RecurrentGemma } from '../../model';
import type { ServerContext } from '../context';
import { ApiError } from '../errors';
import { completionLogprobOptions, generationPlan, refuseUnsupportedCompletion } from '../params';
import { completionLogprobs, entryOf, type TokenText } from '../logprobs';
import { tokenTextOf } from '../../scoring/logprobs';
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
    Object.assign(plan.options, completionLogprobOptions(body));
    const withLogprobs = plan.options.logprobs === true;
    const tokenText: TokenText = tokenTextOf(model.hasTokenizer ? model.tokenizer : null);
    const offsets = new Map<number, number>(); // streamed: text offset reached per choice
    const echo = body.echo ? (typeof body.prompt === 'string' ? body.prompt : model.hasTokenizer ? model.tokenizer.decode(ids, { skipSpecialTokens: true }) : '') : '';
    const id = `cmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'text_completion', created, model: ctx.modelId, system_fingerprint: ctx.systemFingerprint };
    const usageField = plan.includeUsage ? { usage: null } : {};
    const withIds = body.return_token_ids === true;
    const chunk = (index: number, text: string, reason: string | null, tokenIds?: number[], logprobs: unknown = null) => ({
      ...head,
      choices: [{ index, text, logprobs, finish_reason: reason, ...(tokenIds ? { token_ids: tokenIds } : {}) }],
      ...usageField,
    });
    const streamedLogprobs = (index: number, c: Parameters<EndpointShape['text']>[2], owns: boolean) => {
      const e = owns ? entryOf(c) : undefined;
      if (!e) return null;
      const at = offsets.get(index) ?? echo.length;
      const lp = completionLogprobs([e], tokenText, at);
      offsets.set(index, at + lp.tokens[0]!.length);
      return lp;
    };
    const shape: EndpointShape = {
      opening: echo || withIds ? (index) => ({ ...chunk(index, echo, null, withIds ? [] : undefined), ...(withIds ? { prompt_token_ids: ids } : {}) }) : undefined,
      text: (index, text, c, owns) => chunk(index, text, null, withIds ? [c.token] : undefined, withLogprobs ? streamedLogprobs(index, c, owns) : null),
      everyToken: withIds || withLogprobs,
      finish: (index, reason) => chunk(index, '', reason, withIds ? [] : undefined),
      usage: (usage) => ({ ...head, choices: [], usage }),
      body: (r) => ({
        ...head,
        choices: r.choices.map((c) => ({
          index: c.index,
          text: echo + c.text,
          logprobs: withLogprobs ? completionLogprobs(c.logprobs ?? [], tokenText, echo.length) : null,
          finish_reason: finishReason(c),
          ...(withIds ? { token_ids: c.tokens } : {}),
        })),
        ...(withIds ? { prompt_token_ids: ids } : {}),
        usage: ctx.usage(r),
      }),
    };
    await runGeneration(scheduler, ctx.inflight, request, reply, { ids }, plan, shape);
  });
}
