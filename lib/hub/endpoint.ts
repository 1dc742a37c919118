/**
 * Where the hub is and who we are on it, read from the same environment variables as Python's
 * huggingface_hub, so one setup serves both: HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { getHFHubCachePath } from '@huggingface/hub';

import { HubError } from '../errors';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** The hub's base URL: HF_ENDPOINT (a mirror, or a local test server), else huggingface.co. */
export function hubEndpoint(): string {
  const e = process.env.HF_ENDPOINT?.trim();
  return (e && e.length > 0 ? e : DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** The cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (the client's rule). */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

/**
 * The access token: HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), else the file
 * `huggingface-cli login` writes (HF_TOKEN_PATH, else $HF_HOME/token).
 */
export function hubToken(): string | undefined {
  const fromEnv = (process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN)?.trim();
  if (fromEnv) return checkToken(fromEnv, 'HF_TOKEN');
  const home = process.env.HF_HOME ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  const file = process.env.HF_TOKEN_PATH ?? path.join(home, 'token');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return text.length > 0 ? checkToken(text, file) : undefined;
}

/** The hub client rejects tokens without the hf_ prefix with a bare TypeError: say where it came from. */
export function checkToken(token: string, source: string): string {
  if (!token.startsWith('hf_'))
    throw new HubError(`${source} does not hold a Hugging Face access token (they start with "hf_"; create one at ${hubEndpoint()}/settings/tokens)`, 'ERR_RG_HUB_TOKEN');
  return token;
}
