/**
 * Child process for test/non-regular-files.test.ts: hands the native addon a checkpoint's
 * tensors with `file` standing in for its weights, bypassing the TypeScript checks, and prints
 * what the addon did as JSON. Run in a child because the failure being tested is a hang.
 */
import { openCheckpoint } from '../../lib/checkpoint';
import { configIdentity } from '../../lib/checkpoint/fingerprint';
import { addon } from '../../lib/native';

const [dir, file] = process.argv.slice(2) as [string, string];
const ck = openCheckpoint(dir);
try {
  const m = new addon.NativeModel({ ...configIdentity(ck.config), blockTypes: ck.config.blockTypes.map((b) => (b === 'attention' ? 1 : 0)) }, [file], ck.tensors, {});
  m.dispose();
  process.stdout.write(JSON.stringify({ loaded: true }));
} catch (e) {
  process.stdout.write(JSON.stringify({ code: (e as { code?: string }).code, message: (e as Error).message }));
}
