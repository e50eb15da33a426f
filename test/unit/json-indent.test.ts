import { indentJson } from '../../src/tools/json-indent';

/** `partflow inspect` shows a header's schema laid out, numbers as written (src/tools/json-indent.ts). */
describe('indentJson', () => {
  const samples = [
    '{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":null},{"name":"m","type":{"type":"map","values":"long"},"default":{}}]}',
    ' { "a" : [ ] , "b" :{ }, "c":[1, -2.5, true,false ,null], "d\\"}" : "x\\\\", "e": "[{,:}]", "f": [[{}]] } ',
    '"s"', '42', '[]',
  ];
  it.each(samples)('lays out %s as JSON.stringify(JSON.parse(…), null, 2) does', (text) => {
    expect(indentJson(text)).toBe(JSON.stringify(JSON.parse(text), null, 2));
  });

  it('keeps a long beyond 2^53 exact, and pads every line after the first', () => {
    expect(indentJson('{"default":9223372036854775807,"n":[1]}', '    ')).toBe('{\n      "default": 9223372036854775807,\n      "n": [\n        1\n      ]\n    }');
  });
});
