import { goJson } from '../../../src/api/go-json.js';

test('writes what Go encoding/json through go-chi/render writes: HTML characters and line separators escaped, a trailing newline', () => {
  expect(goJson({ msg: 'a <b> & c' })).toBe('{"msg":"a \\u003cb\\u003e \\u0026 c"}\n');
  expect(goJson({ desc: 'x\u2028y\u2029z' })).toBe('{"desc":"x\\u2028y\\u2029z"}\n');
  expect(goJson({ desc: '备份 "quoted"' })).toBe('{"desc":"备份 \\"quoted\\""}\n');
  expect(JSON.parse(goJson({ msg: '<&>' }))).toEqual({ msg: '<&>' });
});
