/** Records the token chunks generation feeds the model (its internal forwardTokens()), optionally editing the logits it returns. */
import type { RecurrentGemma } from '../../lib';

export function spyOnForward(model: RecurrentGemma, edit?: (logits: Float32Array) => void): { fed: number[][]; restore: () => void } {
  const fed: number[][] = [];
  const forward = model.forwardTokens.bind(model);
  const spy = jest.spyOn(model, 'forwardTokens').mockImplementation(async (state, tokens) => {
    fed.push(Array.from(tokens));
    const logits = await forward(state, tokens);
    edit?.(logits);
    return logits;
  });
  return { fed, restore: () => spy.mockRestore() };
}
