/**
 * PC keyboard scan codes: the pairs of set 1 and set 2 make codes of the keys
 * of a 101/102-key keyboard (plus the Windows, ACPI and Japanese/Brazilian
 * keys), the 8042's set 2 -> set 1 translation derived from them, and US-layout
 * ASCII typing. Sources: the IBM PS/2 keyboard technical reference and
 * Microsoft's "Keyboard Scan Code Specification" (set 1/set 2 columns).
 */

/** [set 1 make code, set 2 make code] for every key (E0-prefixed keys use the same pair after the E0). */
export const KEY_PAIRS: readonly (readonly [number, number])[] = [
  [0x01, 0x76], [0x02, 0x16], [0x03, 0x1e], [0x04, 0x26], [0x05, 0x25], [0x06, 0x2e], [0x07, 0x36], [0x08, 0x3d],
  [0x09, 0x3e], [0x0a, 0x46], [0x0b, 0x45], [0x0c, 0x4e], [0x0d, 0x55], [0x0e, 0x66], [0x0f, 0x0d], [0x10, 0x15],
  [0x11, 0x1d], [0x12, 0x24], [0x13, 0x2d], [0x14, 0x2c], [0x15, 0x35], [0x16, 0x3c], [0x17, 0x43], [0x18, 0x44],
  [0x19, 0x4d], [0x1a, 0x54], [0x1b, 0x5b], [0x1c, 0x5a], [0x1d, 0x14], [0x1e, 0x1c], [0x1f, 0x1b], [0x20, 0x23],
  [0x21, 0x2b], [0x22, 0x34], [0x23, 0x33], [0x24, 0x3b], [0x25, 0x42], [0x26, 0x4b], [0x27, 0x4c], [0x28, 0x52],
  [0x29, 0x0e], [0x2a, 0x12], [0x2b, 0x5d], [0x2c, 0x1a], [0x2d, 0x22], [0x2e, 0x21], [0x2f, 0x2a], [0x30, 0x32],
  [0x31, 0x31], [0x32, 0x3a], [0x33, 0x41], [0x34, 0x49], [0x35, 0x4a], [0x36, 0x59], [0x37, 0x7c], [0x38, 0x11],
  [0x39, 0x29], [0x3a, 0x58], [0x3b, 0x05], [0x3c, 0x06], [0x3d, 0x04], [0x3e, 0x0c], [0x3f, 0x03], [0x40, 0x0b],
  [0x41, 0x83], [0x42, 0x0a], [0x43, 0x01], [0x44, 0x09], [0x45, 0x77], [0x46, 0x7e], [0x47, 0x6c], [0x48, 0x75],
  [0x49, 0x7d], [0x4a, 0x7b], [0x4b, 0x6b], [0x4c, 0x73], [0x4d, 0x74], [0x4e, 0x79], [0x4f, 0x69], [0x50, 0x72],
  [0x51, 0x7a], [0x52, 0x70], [0x53, 0x71], [0x54, 0x84], [0x56, 0x61], [0x57, 0x78], [0x58, 0x07],
  // E0 5B/5C/5D: Windows keys and Menu; E0 5E/5F/63: ACPI power, sleep, wake.
  [0x5b, 0x1f], [0x5c, 0x27], [0x5d, 0x2f], [0x5e, 0x37], [0x5f, 0x3f], [0x63, 0x5e],
  // Japanese and Brazilian keys.
  [0x70, 0x13], [0x73, 0x51], [0x79, 0x64], [0x7b, 0x67], [0x7d, 0x6a], [0x7e, 0x6d],
];

/**
 * The 8042's translation of keyboard bytes (set 2 -> set 1): each key's set 2
 * code to its set 1 code; 0x00 (key detection error/overrun) to 0xFF; 0x02 to
 * 0x41 (the F7 position of early keyboards, which is why the identify reply
 * AB 83 and the "set 2" reply 02 read as AB 41 and 41); every other byte,
 * including the protocol bytes FA/AA/EE/FE and the F0 prefix handling left to
 * the controller, passes unchanged.
 */
export const SET2_TO_SET1: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i;
  for (const [s1, s2] of KEY_PAIRS) t[s2] = s1;
  t[0x00] = 0xff;
  t[0x02] = 0x41;
  return t;
})();

/** Set 1 make code (0x01-0x7F) -> set 2 make code, or -1 where no key has that code. */
const SET1_TO_SET2: Int16Array = (() => {
  const t = new Int16Array(128).fill(-1);
  for (const [s1, s2] of KEY_PAIRS) t[s1] = s2;
  return t;
})();

/**
 * Convert a sequence of set 1 bytes (makes, breaks with bit 7, E0/E1 prefixes)
 * into set 2: a break becomes F0 followed by the make code. Bytes of unknown
 * keys pass through unchanged.
 */
export function set1ToSet2(bytes: readonly number[]): number[] {
  const out: number[] = [];
  for (const b of bytes) {
    if (b === 0xe0 || b === 0xe1) {
      out.push(b);
      continue;
    }
    const s2 = SET1_TO_SET2[b & 0x7f]!;
    if (s2 < 0) {
      out.push(b);
      continue;
    }
    if (b & 0x80) out.push(0xf0);
    out.push(s2);
  }
  return out;
}

const LSHIFT = 0x2a, LCTRL = 0x1d;

/** US layout: character -> [set 1 make code, shifted]. */
const ASCII_KEYS: ReadonlyMap<string, readonly [number, boolean]> = (() => {
  const m = new Map<string, readonly [number, boolean]>();
  const rows: [string, string, number][] = [
    ['1234567890-=', '!@#$%^&*()_+', 0x02],
    ['qwertyuiop[]', 'QWERTYUIOP{}', 0x10],
    ["asdfghjkl;'`", 'ASDFGHJKL:"~', 0x1e],
    ['\\zxcvbnm,./', '|ZXCVBNM<>?', 0x2b],
  ];
  for (const [plain, shifted, first] of rows) {
    for (let i = 0; i < plain.length; i++) {
      m.set(plain[i]!, [first + i, false]);
      m.set(shifted[i]!, [first + i, true]);
    }
  }
  m.set(' ', [0x39, false]);
  m.set('\n', [0x1c, false]);
  m.set('\r', [0x1c, false]);
  m.set('\t', [0x0f, false]);
  m.set('\b', [0x0e, false]);
  m.set('\x1b', [0x01, false]);
  return m;
})();

/**
 * Set 1 scan codes that type `text` on a US keyboard: each character is a
 * press and a release, wrapped in Shift or Ctrl (for control characters
 * other than \b \t \n \r and ESC) where needed. "\r\n" types one Enter.
 * Characters a US keyboard cannot type throw a RangeError.
 */
export function asciiToSet1(text: string): number[][] {
  const seqs: number[][] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\r' && text[i + 1] === '\n') continue;
    const key = ASCII_KEYS.get(ch);
    if (key) {
      const [code, shift] = key;
      if (shift) seqs.push([LSHIFT]);
      seqs.push([code], [code | 0x80]);
      if (shift) seqs.push([LSHIFT | 0x80]);
      continue;
    }
    const c = ch.charCodeAt(0);
    if (c >= 1 && c <= 26) {
      const letter = ASCII_KEYS.get(String.fromCharCode(0x60 + c))![0];
      seqs.push([LCTRL], [letter], [letter | 0x80], [LCTRL | 0x80]);
      continue;
    }
    throw new RangeError(`cannot type character U+${c.toString(16).padStart(4, '0')} on a US keyboard`);
  }
  return seqs;
}
