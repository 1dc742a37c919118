/**
 * Prompt caching and batched generation: prefill a shared prefix once, save it to disk, restore
 * it, fork one state per request and generate all continuations in one batch.
 * Run: `npx tsx examples/batch.ts [model folder]` (default: the embedded tiny-python model).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { RecurrentGemma } from 'recurrentgemma';

export async function main(dir?: string): Promise<string[]> {
  const model = await RecurrentGemma.load(dir);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rg-example-')), 'prefix.rgstate');
  try {
    // 1. Prefill the shared prefix once and keep it on disk.
    const prefix = model.createState();
    await model.forward(prefix, model.tokenizer.encode('# geometry helpers\nimport math\n\n', { addBos: true }));
    await prefix.save(file);
    console.error(`prefix: ${prefix.position} tokens in a ${prefix.byteLength}-byte state, saved to ${file}`);

    // 2. Later (or in another process): restore it and fork one state per request.
    const cached = await model.loadState(file);
    const heads = ['def circle_area(r):\n', 'def hypotenuse(a, b):\n', 'def degrees(rad):\n'];
    const results = await model.generateBatch(
      heads.map((h) => ({ prompt: model.tokenizer.encode(h, { addBos: false }), options: { state: cached.clone() } })),
      { maxTokens: 32, temperature: 0, stop: ['\n\n'] },
    );
    const texts = results.map((r, i) => heads[i] + r.text);
    for (const t of texts) console.log(`${t}\n---`);
    return texts;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    model.dispose();
  }
}

if (require.main === module) void main(process.argv[2]);
