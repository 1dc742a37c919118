/** POST /v1/chat/completions: OpenAI's chat completions, streamed (chat.completion.chunk) or not. */
import { randomBytes } from 'crypto';

import type { ServerContext } from '../context';
import { chatLogprobOptions, generationPlan, refuseUnsupportedChat, responseFormatOptions } from '../params';
import { chatLogprob, entryOf } from '../logprobs';
import { tokenTextOf } from '../../scoring/logprobs';
import { renderChat } from '../chat-prompt';
import { chatCompletionBodySchema, type ChatCompletionBody } from '../schemas';
import { finishReason, runGeneration, type EndpointShape } from './run';

export function registerChat(ctx: ServerContext): void {
  ctx.app.post<{ Body: ChatCompletionBody }>('/v1/chat/completions', { schema: { body: chatCompletionBodySchema } }, async (request, reply) => {
    const body = request.body;
    const { scheduler, chat } = ctx.ready();
    ctx.checkModel(body.model);
    const { template, tokenizer } = chat();
    refuseUnsupportedChat(body);
    const prompt = renderChat(template, tokenizer, body.messages);
    const plan = generationPlan(body, prompt.ids.length, ctx.limits, 'messages');
    Object.assign(plan.options, responseFormatOptions(body));
    Object.assign(plan.options, chatLogprobOptions(body));
    const withLogprobs = plan.options.logprobs === true;
    const tokenText = tokenTextOf(tokenizer);
    const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'chat.completion.chunk', created, model: ctx.modelId, system_fingerprint: ctx.systemFingerprint };
    const usageField = plan.includeUsage ? { usage: null } : {};
    const chunk = (index: number, delta: Record<string, unknown>, reason: string | null, logprobs: unknown = null) => ({ ...head, choices: [{ index, delta, logprobs, finish_reason: reason }], ...usageField });
    const shape: EndpointShape = {
      opening: (index) => chunk(index, { role: 'assistant', content: '' }, null),
      text: (index, text, c, owns) => {
        const e = withLogprobs && owns ? entryOf(c) : undefined;
        return chunk(index, { content: text }, null, e ? { content: [chatLogprob(e, tokenText)], refusal: null } : null);
      },
      everyToken: withLogprobs,
      finish: (index, reason) => chunk(index, {}, reason),
      usage: (usage) => ({ ...head, choices: [], usage }),
      body: (r) => ({
        id,
        object: 'chat.completion',
        created,
        model: ctx.modelId,
        system_fingerprint: ctx.systemFingerprint,
        choices: r.choices.map((c) => ({
          index: c.index,
          message: { role: 'assistant', content: c.text, refusal: null },
          logprobs: withLogprobs ? { content: (c.logprobs ?? []).map((e) => chatLogprob(e, tokenText)), refusal: null } : null,
          finish_reason: finishReason(c),
        })),
        usage: ctx.usage(r),
      }),
    };
    await runGeneration(scheduler, ctx.inflight, request, reply, prompt, plan, shape);
  });
}
