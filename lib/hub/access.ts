/**
 * Turning the hub's refusals into errors a user can act on. Google's RecurrentGemma repositories
 * are gated: downloading needs an account that accepted the licence and a token (HF_TOKEN).
 * The hub answers 401 both for "log in first" and for a repository that does not exist or is
 * private (so that private names do not leak), and 403 for a token without access.
 */
import { HubApiError } from '@huggingface/hub';

import { HubError } from '../errors';

/** The steps that unlock a gated repository, for the message. */
export function licenceSteps(endpoint: string, repo: string): string {
  return [
    `  1. open ${endpoint}/${repo}, log in and accept the licence (Google's RecurrentGemma repositories are gated)`,
    `  2. create an access token (read) at ${endpoint}/settings/tokens`,
    `  3. export HF_TOKEN=hf_...   and run the command again`,
  ].join('\n');
}

/** The error for a 401 / 403 answer about `repo`. `errorCode` is the hub's X-Error-Code header, when known. */
export function accessError(endpoint: string, repo: string, status: number, hasToken: boolean, errorCode?: string | null): HubError {
  const why =
    errorCode === 'RepoNotFound'
      ? `${repo} does not exist on ${endpoint}, or it is private and ${hasToken ? 'HF_TOKEN has no access to it' : 'no token was given (set HF_TOKEN)'}`
      : status === 401
        ? hasToken
          ? `the hub refused the token in HF_TOKEN for ${repo} (401: invalid or expired token, or the repository does not exist)`
          : `${repo} needs a Hugging Face login (401: gated or private repository, or it does not exist)`
        : `the token in HF_TOKEN has no access to ${repo} (403: the licence has not been accepted with this account, or the token lacks read permission)`;
  const steps = errorCode === 'RepoNotFound' ? '' : `\nTo download it:\n${licenceSteps(endpoint, repo)}`;
  return new HubError(`${why}${steps}`, status === 401 ? 'ERR_RG_HUB_UNAUTHORIZED' : 'ERR_RG_HUB_FORBIDDEN', { status, repo });
}

/** Maps an error of the @huggingface/hub client to a HubError; anything else is returned as is. */
export function fromHubError(e: unknown, endpoint: string, repo: string, hasToken: boolean, what: string): unknown {
  if (!(e instanceof HubApiError)) return e;
  if (e.statusCode === 401 || e.statusCode === 403) return accessError(endpoint, repo, e.statusCode, hasToken);
  if (e.statusCode === 404) return new HubError(`${what}: not found on ${endpoint} (${firstSentence(e.message)})`, 'ERR_RG_HUB_NOT_FOUND', { status: 404, repo });
  return new HubError(`${what}: the hub answered ${e.statusCode} (${firstSentence(e.message)})`, 'ERR_RG_HUB_HTTP', { status: e.statusCode, repo });
}

function firstSentence(message: string): string {
  return message.split('. URL:')[0]!.trim();
}
