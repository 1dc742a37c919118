/**
 * Child process for test/non-regular-files.test.ts: RecurrentGemma.load(dir) for each folder
 * argument, printing one JSON line per folder with the error's class, code and message (or
 * {loaded: true}). Run in a child because the failure being tested is a hang.
 */
import { RecurrentGemma } from '../../lib';

async function main(): Promise<void> {
  for (const dir of process.argv.slice(2)) {
    try {
      const m = await RecurrentGemma.load(dir);
      m.dispose();
      process.stdout.write(`${JSON.stringify({ loaded: true })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message })}\n`);
    }
  }
}

void main();
