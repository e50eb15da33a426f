import { installFastStringWrite } from '../../src/avro/string-write';

type TapClass = new (buf: Buffer, pos?: number) => { buf: Buffer; pos: number; writeString(s: string): void };

// avsc's own Tap, from a module registry of its own, which the install below does not touch.
let AvscTap!: TapClass;
jest.isolateModules(() => {
  AvscTap = (require('avsc/lib/utils') as { Tap: TapClass }).Tap;
});
installFastStringWrite();
// eslint-disable-next-line @typescript-eslint/no-var-requires
const FastTap = (require('avsc/lib/utils') as { Tap: TapClass }).Tap;

function written(T: TapClass, strings: string[], size = 1 << 16, at = 0): { pos: number; bytes: Buffer } {
  const tap = new T(Buffer.alloc(size, 0xaa), at);
  for (const s of strings) tap.writeString(s);
  return { pos: tap.pos, bytes: tap.buf.subarray(0, Math.min(tap.pos, size)) };
}

describe('the fast Tap.writeString', () => {
  const cases = [
    '', 'a', 'EUR', 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(200), 'é', 'aé', 'abc\u007f', 'abc\u0080', '\u07ff\u0800',
    '😀', 'a😀b', 'x'.repeat(62) + 'é', '\u0000\u0001', `https://shop-3.example/p/123456`, '\ud83d\ude00'.repeat(40),
  ];

  it('is installed, and is not avsc\'s', () => {
    expect(FastTap.prototype.writeString).not.toBe(AvscTap.prototype.writeString);
  });

  it.each(cases.map((s) => [JSON.stringify(s).slice(0, 40), s]))('writes what avsc writes for %s', (_label, s) => {
    const fast = written(FastTap, [s, s]);
    const avsc = written(AvscTap, [s, s]);
    expect(fast.pos).toBe(avsc.pos);
    expect(fast.bytes.equals(avsc.bytes)).toBe(true);
  });

  it('writes what avsc writes for random strings of every kind of char', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const alphabet = ['a', 'Z', '0', ' ', '\u007f', 'é', 'ß', '\u20ac', '😀', '\ud83d\ude00', '\u0000'];
    const strings = Array.from({ length: 2000 }, () => Array.from({ length: rand(90) }, () => (rand(4) ? alphabet[rand(4)] : alphabet[rand(alphabet.length)])).join(''));
    const fast = written(FastTap, strings, 1 << 20);
    const avsc = written(AvscTap, strings, 1 << 20);
    expect(fast.pos).toBe(avsc.pos);
    expect(fast.bytes.equals(avsc.bytes)).toBe(true);
  });

  it('leaves the tap past the end, as avsc does, when the string does not fit', () => {
    for (const s of ['abcdef', 'x'.repeat(63), 'é', 'abcdé']) {
      for (const at of [0, 1, 2, 3, 5, 6, 7]) {
        const fast = written(FastTap, [s], 8, at);
        const avsc = written(AvscTap, [s], 8, at);
        expect({ s, at, pos: fast.pos }).toEqual({ s, at, pos: avsc.pos });
        // Past the string's start the bytes are scratch (an encoder grows its buffer and writes again).
        expect(fast.bytes.subarray(0, at).equals(avsc.bytes.subarray(0, at))).toBe(true);
      }
    }
  });

  it('writes what avsc writes when a non-ASCII char follows an ASCII prefix and the string fits', () => {
    const fast = written(FastTap, ['abcdé', 'x'.repeat(40) + '\u20ac', 'a😀']);
    const avsc = written(AvscTap, ['abcdé', 'x'.repeat(40) + '\u20ac', 'a😀']);
    expect(fast.pos).toBe(avsc.pos);
    expect(fast.bytes.equals(avsc.bytes)).toBe(true);
  });

  it('refuses a string with a lone surrogate, which has no UTF-8 encoding (avsc would write bytes no reader accepts)', () => {
    for (const s of ['\ud800', 'a\udc00', 'x'.repeat(70) + '\ud83d', '\ude00\ud83d']) {
      expect(() => written(FastTap, [s])).toThrow(/lone UTF-16 surrogate/);
    }
  });
});
