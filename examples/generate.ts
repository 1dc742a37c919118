/**
 * Complete a prompt in one call. Run: `npx tsx examples/generate.ts [model folder]`
 * (without a folder it uses the embedded tiny-python demo model).
 */
import { RecurrentGemma } from 'recurrentgemma';

export async function main(dir?: string): Promise<string> {
  const model = await RecurrentGemma.load(dir);
  try {
    const result = await model.complete('def fibonacci(n):\n', {
      maxTokens: 64,
      temperature: 0.7,
      topP: 0.95,
      seed: 42, // same seed, same text
      stop: ['\n\n\n'],
    });
    console.log(result.text);
    console.error(`[${result.finishReason}] ${result.promptTokens} prompt tokens, ${result.generatedTokens} generated`);
    return result.text;
  } finally {
    model.dispose();
  }
}

if (require.main === module) void main(process.argv[2]);
