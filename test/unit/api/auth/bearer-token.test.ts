import { bearerToken } from '../../../../src/api/auth/bearer-token.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

test.each([
  ['Bearer ' + TOKEN],
  ['bearer ' + TOKEN],
  ['BEARER ' + TOKEN],
  ['  Bearer \t ' + TOKEN + '  '],
])('reads the token from %j', (header) => {
  expect(bearerToken(header)).toEqual({ token: TOKEN });
});

test.each([
  [undefined, /^missing Authorization header: send "Authorization: Bearer <token>"/],
  ['', /^missing Authorization header/],
  ['   ', /^missing Authorization header/],
  ['Bearer', /^the bearer token is empty/],
  ['Bearer    ', /^the bearer token is empty/],
  ['Basic dXNlcjpwYXNz', /^the Authorization header's scheme "Basic" is not Bearer/],
  [TOKEN, /^the Authorization header's scheme is not Bearer/],
  ['Bearer abc def', /^the Authorization header must be "Bearer <token>" with one token/],
])('refuses %j, saying why', (header, message) => {
  const result = bearerToken(header);
  expect('problem' in result && result.problem).toMatch(message);
});

test('a refusal never echoes anything after the scheme word', () => {
  for (const header of ['Basic dXNlcjpwYXNz', `Token ${TOKEN}`, `${TOKEN} x`, `Bearer ${TOKEN} ${TOKEN}`, `Bearer:${TOKEN}`]) {
    const result = bearerToken(header);
    if (!('problem' in result)) throw new Error(`accepted ${header}`);
    expect(result.problem).not.toContain('dXNlcjpwYXNz');
    expect(result.problem).not.toContain(TOKEN);
  }
});
