/**
 * A small encoder for ACPI Machine Language (ACPI 6.x, chapter 20 "ACPI Machine
 * Language Specification"): enough of the grammar to write the definition
 * blocks this machine needs as data, with no ASL compiler in the build.
 *
 * Each function returns the encoded bytes of one term; terms nest by passing
 * their bytes to the enclosing term. Covered:
 *   - NameString: root (\) and parent (^) prefixes, dotted paths of 1-4 character
 *     segments (padded with '_'), DualNamePrefix / MultiNamePrefix;
 *   - PkgLength: the 1-4 byte encoding (its own bytes included in the length);
 *   - integers as ZeroOp / OneOp / OnesOp or the smallest of BytePrefix,
 *     WordPrefix, DWordPrefix, QWordPrefix; strings (StringPrefix, NUL-ended);
 *     EISAID() as the compressed 32-bit ID;
 *   - DefName (Name), DefPackage (Package), DefBuffer (Buffer), DefScope (Scope),
 *     DefDevice (Device), DefMethod (Method) and DefReturn (Return);
 *   - resource descriptors for _CRS (bus number, I/O and memory windows, I/O
 *     ports, fixed memory) and ResourceTemplate's end tag.
 * The tests decode the output with an independent reader.
 */

const OP = {
  ZERO: 0x00, ONE: 0x01, NAME: 0x08, BYTE: 0x0a, WORD: 0x0b, DWORD: 0x0c, STRING: 0x0d, QWORD: 0x0e,
  SCOPE: 0x10, BUFFER: 0x11, PACKAGE: 0x12, METHOD: 0x14, DUAL_NAME: 0x2e, MULTI_NAME: 0x2f,
  EXT: 0x5b, DEVICE: 0x82, RETURN: 0xa4, ONES: 0xff,
} as const;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One name segment: 1-4 characters of [A-Z0-9_] (not starting with a digit), padded with '_'. */
function nameSeg(seg: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`"${seg}" is not an AML name segment`);
  return [...seg.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** A NameString: "\\_SB.PCI0", "^FOO", "_S5", "\\" (the root alone). */
export function nameString(path: string): Uint8Array {
  const out: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    out.push(0x5c);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      out.push(0x5e);
      rest = rest.slice(1);
    }
  }
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) out.push(0x00); // NullName
  else if (segs.length === 1) out.push(...nameSeg(segs[0]!));
  else if (segs.length === 2) out.push(OP.DUAL_NAME, ...nameSeg(segs[0]!), ...nameSeg(segs[1]!));
  else out.push(OP.MULTI_NAME, segs.length, ...segs.flatMap(nameSeg));
  return new Uint8Array(out);
}

/** PkgLength for a body of `bodyLength` bytes: the encoding counts its own bytes. */
export function pkgLength(bodyLength: number): Uint8Array {
  if (bodyLength + 1 < 0x40) return new Uint8Array([bodyLength + 1]);
  for (let extra = 1; extra <= 3; extra++) {
    const total = bodyLength + 1 + extra;
    if (total < 1 << (4 + 8 * extra)) {
      const out = [(extra << 6) | (total & 0x0f)];
      for (let i = 0; i < extra; i++) out.push((total >> (4 + 8 * i)) & 0xff);
      return new Uint8Array(out);
    }
  }
  throw new Error(`AML package of ${bodyLength} bytes is too long`);
}

/** An integer constant, in the shortest encoding. */
export function integer(n: number | bigint): Uint8Array {
  const v = BigInt(n);
  if (v < 0n || v > 0xffffffffffffffffn) throw new Error(`${n} is not a 64-bit unsigned integer`);
  if (v === 0n) return new Uint8Array([OP.ZERO]);
  if (v === 1n) return new Uint8Array([OP.ONE]);
  if (v === 0xffffffffffffffffn) return new Uint8Array([OP.ONES]);
  const [prefix, bytes] = v <= 0xffn ? [OP.BYTE, 1] : v <= 0xffffn ? [OP.WORD, 2] : v <= 0xffffffffn ? [OP.DWORD, 4] : [OP.QWORD, 8];
  const out: number[] = [prefix];
  for (let i = 0; i < bytes; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return new Uint8Array(out);
}

/** A string constant (ASCII 1-127). */
export function string(s: string): Uint8Array {
  const codes = [...s].map((c) => c.charCodeAt(0));
  if (codes.some((c) => c < 1 || c > 127)) throw new Error('AML strings are 7-bit ASCII without NUL');
  return new Uint8Array([OP.STRING, ...codes, 0]);
}

/** EISAID("PNP0A03"): three letters compressed in 5 bits each and four hex digits, as a byte-swapped dword. */
export function eisaId(id: string): Uint8Array {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`"${id}" is not an EISA ID`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const hi = (c(0) << 10) | (c(1) << 5) | c(2);
  const prod = parseInt(id.slice(3), 16);
  // Stored big-endian in the dword: vendor then product.
  const v = ((hi >> 8) & 0xff) | ((hi & 0xff) << 8) | (((prod >> 8) & 0xff) << 16) | ((prod & 0xff) << 24);
  return integer(v >>> 0);
}

/** Name(path, value). */
export function name(path: string, value: Uint8Array): Uint8Array {
  return concat([new Uint8Array([OP.NAME]), nameString(path), value]);
}

/** Package() { elements }: data objects (integers, strings, buffers, packages) or name references. */
export function pkg(elements: readonly Uint8Array[]): Uint8Array {
  if (elements.length > 255) throw new Error('a Package holds at most 255 elements (VarPackage not supported)');
  const body = concat([new Uint8Array([elements.length]), ...elements]);
  return concat([new Uint8Array([OP.PACKAGE]), pkgLength(body.length), body]);
}

/** Buffer() { bytes }. */
export function buffer(bytes: Uint8Array): Uint8Array {
  const body = concat([integer(bytes.length), bytes]);
  return concat([new Uint8Array([OP.BUFFER]), pkgLength(body.length), body]);
}

/** Scope(path) { terms }. */
export function scope(path: string, terms: readonly Uint8Array[]): Uint8Array {
  const body = concat([nameString(path), ...terms]);
  return concat([new Uint8Array([OP.SCOPE]), pkgLength(body.length), body]);
}

/** Device(path) { terms }. */
export function device(path: string, terms: readonly Uint8Array[]): Uint8Array {
  const body = concat([nameString(path), ...terms]);
  return concat([new Uint8Array([OP.EXT, OP.DEVICE]), pkgLength(body.length), body]);
}

/** Method(path, argCount, serialized) { terms }. */
export function method(path: string, argCount: number, serialized: boolean, terms: readonly Uint8Array[]): Uint8Array {
  if (argCount < 0 || argCount > 7) throw new Error('a Method takes 0-7 arguments');
  const body = concat([nameString(path), new Uint8Array([argCount | (serialized ? 8 : 0)]), ...terms]);
  return concat([new Uint8Array([OP.METHOD]), pkgLength(body.length), body]);
}

/** Return(value). */
export function ret(value: Uint8Array): Uint8Array {
  return concat([new Uint8Array([OP.RETURN]), value]);
}

export { concat as amlConcat };

// ---- resource descriptors (ACPI 6.x §6.4), for _CRS buffers ---------------------------------

/** General flags of an address space descriptor for a bridge window: producer, min and max fixed, positive decode. */
const WINDOW_FLAGS = 0x0c;

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

/** Word Address Space Descriptor (0x88): resource type 0 memory, 1 I/O, 2 bus number. */
function wordAddressSpace(type: number, typeFlags: number, min: number, max: number): Uint8Array {
  return new Uint8Array([0x88, 0x0d, 0x00, type, WINDOW_FLAGS, typeFlags, ...le(0, 2), ...le(min, 2), ...le(max, 2), ...le(0, 2), ...le(max - min + 1, 2)]);
}

export const resource = {
  /** WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode). */
  busNumbers(min: number, max: number): Uint8Array {
    return wordAddressSpace(2, 0, min, max);
  },
  /** WordIO window (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange). */
  ioWindow(min: number, max: number): Uint8Array {
    return wordAddressSpace(1, 0x03, min, max);
  },
  /** DWordMemory window (ResourceProducer, PosDecode, MinFixed, MaxFixed, read-write; cacheable or not). */
  memoryWindow(min: number, max: number, cacheable = false): Uint8Array {
    return new Uint8Array([0x87, 0x17, 0x00, 0, WINDOW_FLAGS, cacheable ? 0x03 : 0x01, ...le(0, 4), ...le(min, 4), ...le(max, 4), ...le(0, 4), ...le(max - min + 1, 4)]);
  },
  /** IO (Decode16, min, max, alignment, length): the small I/O port descriptor (0x47). */
  io(min: number, max: number, alignment: number, length: number): Uint8Array {
    return new Uint8Array([0x47, 0x01, ...le(min, 2), ...le(max, 2), alignment, length]);
  },
  /** Memory32Fixed (ReadWrite, base, length): descriptor 0x86. */
  memory32Fixed(base: number, length: number): Uint8Array {
    return new Uint8Array([0x86, 0x09, 0x00, 0x01, ...le(base, 4), ...le(length, 4)]);
  },
  /** ResourceTemplate() { descriptors }: the descriptors and the end tag (checksum 0: not checked). */
  template(descriptors: readonly Uint8Array[]): Uint8Array {
    return concat([...descriptors, new Uint8Array([0x79, 0x00])]);
  },
};
