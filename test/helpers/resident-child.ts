// Child process of release-mapping.test.ts: loads a checkpoint with the given weight format and
// prints how much the resident set grew (total and file-backed, from /proc/self/status) and the
// model's runtime facts, as JSON on stdout.
import * as fs from 'fs';

import { RecurrentGemma, type WeightFormat } from '../../lib';

function status(): { rss: number; rssFile: number } {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), rssFile: kib('RssFile') };
}

async function main(): Promise<void> {
  const [dir, format] = process.argv.slice(2) as [string, WeightFormat];
  const before = status();
  const model = await RecurrentGemma.load(dir, { weights: format, threads: 2 });
  const after = status();
  const rt = model.runtime;
  process.stdout.write(
    JSON.stringify({ rssGrowth: after.rss - before.rss, rssFileGrowth: after.rssFile - before.rssFile, mappedBytes: rt.mappedBytes, ownedBytes: rt.ownedBytes, releasedBytes: rt.releasedBytes }),
  );
  model.dispose();
}

void main();
