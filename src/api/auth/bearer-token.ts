/** The token from an Authorization header, or why there is none (the 401's message; never the header's value). */
export type BearerToken = { token: string } | { problem: string };

const USAGE = 'send "Authorization: Bearer <token>" (a Kubernetes ServiceAccount token) or a client certificate';

/**
 * Reads `Authorization: Bearer <token>` as kube-apiserver's bearer-token
 * authenticator does: the scheme case-insensitively (RFC 6750 / RFC 7235),
 * surrounding whitespace ignored, exactly one token after it.
 */
export function bearerToken(authorization: string | undefined): BearerToken {
  const header = (authorization ?? '').trim();
  if (header === '') return { problem: `missing Authorization header: ${USAGE}` };
  const [scheme = '', ...rest] = header.split(/[ \t]+/);
  if (scheme.toLowerCase() !== 'bearer') {
    // The scheme word is safe to echo back; anything after it may be a secret.
    const shown = /^[A-Za-z][A-Za-z0-9._~+-]{0,19}$/.test(scheme) ? ` "${scheme}"` : '';
    return { problem: `the Authorization header's scheme${shown} is not Bearer: ${USAGE}` };
  }
  if (rest.length === 0) return { problem: `the bearer token is empty: ${USAGE}` };
  if (rest.length > 1) return { problem: `the Authorization header must be "Bearer <token>" with one token and no spaces in it` };
  return { token: rest[0] ?? '' };
}
