/** API-key check for the /v1 routes: `Authorization: Bearer KEY`, compared in constant time. */
import { createHash, timingSafeEqual } from 'crypto';

import { ApiError } from './errors';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Returns a checker for `key`; it throws a 401 ApiError when the header does not carry the key. */
export function bearerAuth(key: string): (authorization: string | undefined) => void {
  // Comparing fixed-length digests keeps the time independent of where, and whether, lengths differ.
  const expected = digest(key);
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    if (!m) throw new ApiError(401, "You didn't provide an API key. Send it in the Authorization header as 'Bearer KEY'.", { type: 'authentication_error', code: 'missing_api_key' });
    if (!timingSafeEqual(digest(m[1]!), expected)) throw new ApiError(401, 'Incorrect API key provided.', { type: 'authentication_error', code: 'invalid_api_key' });
  };
}
