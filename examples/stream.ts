/**
 * Stream tokens as they are generated, and stop early with an AbortSignal.
 * Run: `npx tsx examples/stream.ts [model folder]`.
 */
import { RecurrentGemma } from 'recurrentgemma';

export async function main(dir?: string): Promise<string> {
  const model = await RecurrentGemma.load(dir);
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), 10_000); // give up after 10 s
  let text = '';
  try {
    for await (const chunk of model.generate('class Stack:\n', { maxTokens: 80, seed: 1, signal: controller.signal })) {
      process.stdout.write(chunk.text); // whole UTF-8 characters only, never a partial stop string
      text += chunk.text;
      if (chunk.finishReason) console.error(`\n[${chunk.finishReason}] ${chunk.generatedTokens} tokens`);
    }
    return text;
  } finally {
    clearTimeout(timeout);
    model.dispose();
  }
}

if (require.main === module) void main(process.argv[2]);
