/**
 * A two-turn chat. The session keeps the model state, so the second turn only prefills its own
 * text. Run: `npx tsx examples/chat.ts /path/to/recurrentgemma-2b-it` (the embedded demo model
 * only knows Python code, so its "replies" are code-like text).
 */
import { RecurrentGemma } from 'recurrentgemma';

export async function main(dir?: string): Promise<string[]> {
  const model = await RecurrentGemma.load(dir);
  const session = model.createChatSession({ generation: { maxTokens: 48, seed: 7 } });
  try {
    const first = await session.prompt('Write a Python function that reverses a string.');
    console.log(`model: ${first.text}`);
    const position = session.state.position;

    let second = '';
    for await (const chunk of session.promptStream('Now make it handle None.')) second += chunk.text;
    console.log(`model: ${second}`);
    console.error(`state position ${position} -> ${session.state.position}; ${session.history.length} messages`);
    return session.history.map((m) => m.content);
  } finally {
    session.dispose();
    model.dispose();
  }
}

if (require.main === module) void main(process.argv[2]);
