/** Records the token chunks a model's forward() is fed, optionally editing the logits it returns. */
import type { RecurrentGemma } from '../../lib';

export function spyOnForward(model: RecurrentGemma, edit?: (logits: Float32Array) => void): { fed: number[][]; restore: () => void } {
  const fed: number[][] = [];
  const forward = model.forward.bind(model);
  const spy = jest.spyOn(model, 'forward').mockImplementation(async (state, tokens, options) => {
    fed.push(Array.from(tokens));
    const logits = await forward(state, tokens, options);
    edit?.(logits);
    return logits;
  });
  return { fed, restore: () => spy.mockRestore() };
}
