/**
 * The x86 instruction table: every instruction form bt86 knows, described once.
 *
 * This file is data. The decoder, the disassembler, the cold tier (the CPU's own
 * executor) and the translator all derive from it, so adding an instruction means
 * adding one row here, one semantics function and one test.
 *
 * ## Legend
 *
 * A row is written `r('ENCODING', 'MNEMONIC OPERANDS', { options })`.
 *
 * ENCODING, as in the Intel SDM's opcode column:
 *   `F3`     a mandatory prefix, when the first token is 66/F2/F3 and more bytes follow
 *   `0F xx`  two-byte opcode; `xx` one-byte opcode
 *   `+r`     the low three opcode bits select a register (eight opcodes)
 *   `/r`     a ModRM byte follows, any reg field
 *   `/N`     a ModRM byte follows and its reg field must be N (an opcode group)
 *   `mem`    ModRM.mod must be 0-2 (memory operand only)
 *   `reg`    ModRM.mod must be 3 (register operand only)
 *   `+i`     x87 register form: ModRM = the given byte + i (i = 0..7, mod = 3)
 *   `C0`..   after an opcode without `/`, a literal ModRM byte (x87 and 0F 01 forms)
 *
 * OPERANDS, in the Intel manual's appendix A notation (addressing method + type):
 *   E  ModRM r/m: register or memory    G  ModRM reg: general register
 *   M  ModRM r/m: memory only           R  ModRM r/m: general register only
 *   S  ModRM reg: segment register      C  ModRM reg: control register
 *   D  ModRM reg: debug register        I  immediate    J  relative branch offset
 *   O  moffs (address-sized offset, no ModRM)   A  direct far pointer (seg:off)
 *   X  memory DS:[rSI]     Y  memory ES:[rDI]   Z  register from opcode bits 2:0
 *   types: b byte, w word, d dword, q qword, v word/dword by operand size,
 *   z word for 16-bit operand size else dword, a two v-sized words (BOUND),
 *   p far pointer (16:16 / 16:32), s 6-byte pseudo-descriptor, sb byte
 *   sign-extended to the operand size.
 *   Fixed operands are spelled out: AL CL AX DX eAX (AX or EAX by operand
 *   size), 1, ES CS SS DS FS GS, ST (= ST(0)), STi (ST(i) from ModRM.rm).
 *   x87 memory operands: Mfs m32fp, Mfd m64fp, Mft m80fp, Mwi m16int, Mdi m32int,
 *   Mqi m64int, Mbcd m80bcd, Mw m2byte, Menv 14/28-byte environment,
 *   Mst 94/108-byte state, Mfx 512-byte FXSAVE area.
 *
 * MNEMONIC is the Intel mnemonic, lower case. `a/b` means a for 16-bit operand
 * size and b for 32-bit (`cbw/cwde`), except `jcxz/jecxz`, where the address size
 * selects (and the count register: CX or ECX), as for LOOPcc.
 *
 * Options:
 *   sem   name of the semantics function (src/x86/sem/*), shared by the cold tier
 *         and the translator. Rows of the same operation share it.
 *   f     flags as `r:... w:... u:...` over the letters o d i t s z a p c
 *         (read, written with a defined value, left undefined).
 *   lock  LOCK is legal (with a memory destination); otherwise LOCK gives #UD.
 *   cls   'int' (default), 'sys' (privileged or system), 'x87', 'simd' (MMX/SSE:
 *         recognised but not implemented, executes as #UD), 'ud' (defined to #UD).
 *   priv  'cpl0' needs CPL 0; 'iopl' needs CPL <= IOPL (v8086 rules in the helper);
 *         'pm' protected mode only (#UD in real and v8086 mode).
 *   ends  the instruction ends a translated block: a control transfer, or a
 *         runtime call that may change the mode or the address space.
 *   status 'alias' (an alternate encoding of a documented instruction) or
 *         'undoc' (undocumented, but real P6 hardware executes it).
 *
 * ## Where this table departs from the manual
 * - 0F 18-1F: all eight are the P6 "hint NOP" space and decode as NOP Ev; SSE's
 *   PREFETCHh (0F 18 /0-3) is outside our CPU and runs as the NOP it is on P6.
 * - 82 (alias of 80), C0/C1/D0-D3 /6 (SAL, alias of SHL), F6/F7 /1 (TEST alias),
 *   D6 SALC, F1 INT1, and the x87 aliases (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5,
 *   FFREEP, FXCH7, FSTP8, FSTP9) are included because real P6 processors run them.
 * - DB E0/E1/E4 (FENI, FDISI, FSETPM) are 8087/287 control instructions that the
 *   387 and later execute as FNOP.
 * - The MMX/SSE space (0F 10-17, 0F 28-2F, 0F 50-7F, 0F C2-C6, 0F D0-FE) is
 *   described by opcode and length only (`cls: 'simd'`), not by its SIMD
 *   operands: our CPUID does not claim it and the CPU raises #UD. The three-byte
 *   maps 0F 38 and 0F 3A (SSSE3 and later) are left undefined.
 * - MOV to/from CRn/DRn (0F 20-23) ignore ModRM.mod, as the SDM says: the rm field
 *   always names a register and no displacement follows (the decoder sees to it).
 */

export type InsnClass = 'int' | 'sys' | 'x87' | 'simd' | 'ud';
export type Privilege = 'cpl0' | 'iopl' | 'pm';

export interface RowOptions {
  sem?: string;
  f?: string;
  lock?: boolean;
  cls?: InsnClass;
  priv?: Privilege;
  ends?: boolean;
  status?: 'alias' | 'undoc';
}

/** One instruction form, as written in the table (before the decoder indexes it). */
export interface RowSpec extends RowOptions {
  enc: string;
  syntax: string;
}

function r(enc: string, syntax: string, opts: RowOptions = {}): RowSpec {
  return { enc, syntax, ...opts };
}

const ARITH = 'w:oszapc';
const LOGIC = 'w:oszpc u:a';
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
/** Flags each condition code reads, in CC order. */
const CC_FLAGS = ['o', 'o', 'c', 'c', 'z', 'z', 'zc', 'zc', 's', 's', 'p', 'p', 'so', 'so', 'zso', 'zso'];

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** The eight classic ALU operations at 00-3F: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz. */
function aluRows(): RowSpec[] {
  const ops = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  const rows: RowSpec[] = [];
  ops.forEach((op, i) => {
    const base = i * 8;
    const f = op === 'and' || op === 'or' || op === 'xor' ? LOGIC : op === 'adc' || op === 'sbb' ? 'r:c ' + ARITH : ARITH;
    const lock = op !== 'cmp';
    rows.push(
      r(`${hex(base)} /r`, `${op} Eb,Gb`, { sem: op, f, lock }),
      r(`${hex(base + 1)} /r`, `${op} Ev,Gv`, { sem: op, f, lock }),
      r(`${hex(base + 2)} /r`, `${op} Gb,Eb`, { sem: op, f }),
      r(`${hex(base + 3)} /r`, `${op} Gv,Ev`, { sem: op, f }),
      r(`${hex(base + 4)}`, `${op} AL,Ib`, { sem: op, f }),
      r(`${hex(base + 5)}`, `${op} eAX,Iz`, { sem: op, f }),
    );
    rows.push(
      r(`80 /${i}`, `${op} Eb,Ib`, { sem: op, f, lock }),
      r(`81 /${i}`, `${op} Ev,Iz`, { sem: op, f, lock }),
      r(`82 /${i}`, `${op} Eb,Ib`, { sem: op, f, lock, status: 'alias' }),
      r(`83 /${i}`, `${op} Ev,Ibs`, { sem: op, f, lock }),
    );
  });
  return rows;
}

/** Shift group 2: C0 C1 D0 D1 D2 D3 with /0-/7 (/6 is the SAL alias). */
function shiftRows(): RowSpec[] {
  const ops = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  const rows: RowSpec[] = [];
  ops.forEach((op, i) => {
    const rotate = i < 4;
    const f = rotate ? (i >= 2 ? 'r:c w:oc' : 'w:oc') : 'w:oszpc u:a';
    const sem = op === 'sal' ? 'shl' : op;
    const status = op === 'sal' ? ({ status: 'undoc' } as const) : {};
    const name = op === 'sal' ? 'shl' : op;
    for (const [opc, src] of [['C0', 'Ib'], ['D0', '1'], ['D2', 'CL']] as const) {
      rows.push(r(`${opc} /${i}`, `${name} Eb,${src}`, { sem, f, ...status }));
    }
    for (const [opc, src] of [['C1', 'Ib'], ['D1', '1'], ['D3', 'CL']] as const) {
      rows.push(r(`${opc} /${i}`, `${name} Ev,${src}`, { sem, f, ...status }));
    }
  });
  return rows;
}

function oneByteRows(): RowSpec[] {
  const rows: RowSpec[] = [...aluRows(), ...shiftRows()];
  const segPush: [string, string, string][] = [['06', '07', 'ES'], ['0E', '', 'CS'], ['16', '17', 'SS'], ['1E', '1F', 'DS']];
  for (const [push, pop, seg] of segPush) {
    rows.push(r(push, `push ${seg}`, { sem: 'push_seg' }));
    if (pop) rows.push(r(pop, `pop ${seg}`, { sem: 'pop_seg', ends: seg === 'SS' }));
  }
  rows.push(
    r('27', 'daa', { sem: 'daa', f: 'r:ac w:szapc u:o' }),
    r('2F', 'das', { sem: 'das', f: 'r:ac w:szapc u:o' }),
    r('37', 'aaa', { sem: 'aaa', f: 'r:a w:ac u:oszp' }),
    r('3F', 'aas', { sem: 'aas', f: 'r:a w:ac u:oszp' }),
    r('40+r', 'inc Zv', { sem: 'inc', f: 'w:oszap' }),
    r('48+r', 'dec Zv', { sem: 'dec', f: 'w:oszap' }),
    r('50+r', 'push Zv', { sem: 'push' }),
    r('58+r', 'pop Zv', { sem: 'pop' }),
    r('60', 'pusha/pushad', { sem: 'pusha' }),
    r('61', 'popa/popad', { sem: 'popa' }),
    r('62 /r mem', 'bound Gv,Ma', { sem: 'bound' }),
    r('63 /r', 'arpl Ew,Gw', { sem: 'arpl', f: 'w:z', priv: 'pm', cls: 'sys' }),
    r('68', 'push Iz', { sem: 'push' }),
    r('69 /r', 'imul Gv,Ev,Iz', { sem: 'imul3', f: 'w:oc u:szap' }),
    r('6A', 'push Ibs', { sem: 'push' }),
    r('6B /r', 'imul Gv,Ev,Ibs', { sem: 'imul3', f: 'w:oc u:szap' }),
    r('6C', 'ins Yb,DX', { sem: 'ins', f: 'r:d', priv: 'iopl', cls: 'sys' }),
    r('6D', 'ins Yz,DX', { sem: 'ins', f: 'r:d', priv: 'iopl', cls: 'sys' }),
    r('6E', 'outs DX,Xb', { sem: 'outs', f: 'r:d', priv: 'iopl', cls: 'sys' }),
    r('6F', 'outs DX,Xz', { sem: 'outs', f: 'r:d', priv: 'iopl', cls: 'sys' }),
  );
  CC.forEach((cc, i) => rows.push(r(hex(0x70 + i), `j${cc} Jb`, { sem: 'jcc', f: `r:${CC_FLAGS[i]}`, ends: true })));
  rows.push(
    r('84 /r', 'test Eb,Gb', { sem: 'test', f: LOGIC }),
    r('85 /r', 'test Ev,Gv', { sem: 'test', f: LOGIC }),
    r('86 /r', 'xchg Eb,Gb', { sem: 'xchg', lock: true }),
    r('87 /r', 'xchg Ev,Gv', { sem: 'xchg', lock: true }),
    r('88 /r', 'mov Eb,Gb', { sem: 'mov' }),
    r('89 /r', 'mov Ev,Gv', { sem: 'mov' }),
    r('8A /r', 'mov Gb,Eb', { sem: 'mov' }),
    r('8B /r', 'mov Gv,Ev', { sem: 'mov' }),
    r('8C /r', 'mov Ev,Sw', { sem: 'mov_from_seg' }),
    r('8D /r mem', 'lea Gv,M', { sem: 'lea' }),
    r('8E /r', 'mov Sw,Ew', { sem: 'mov_to_seg', ends: true }),
    r('8F /0', 'pop Ev', { sem: 'pop' }),
    r('90', 'nop', { sem: 'nop' }),
    r('F3 90', 'pause', { sem: 'nop' }),
    // 90 is XCHG eAX,eAX, which is NOP; 91-97 exchange with eAX.
    ...range(0x91, 0x97).map((o) => r(hex(o), 'xchg Zv,eAX', { sem: 'xchg' })),
    r('98', 'cbw/cwde', { sem: 'cbw' }),
    r('99', 'cwd/cdq', { sem: 'cwd' }),
    r('9A', 'call Ap', { sem: 'call_far', ends: true }),
    r('9B', 'fwait', { sem: 'fwait', cls: 'x87' }),
    r('9C', 'pushf/pushfd', { sem: 'pushf', f: 'r:oditszapc', priv: 'iopl' }),
    r('9D', 'popf/popfd', { sem: 'popf', f: 'w:oditszapc', priv: 'iopl', ends: true }),
    r('9E', 'sahf', { sem: 'sahf', f: 'w:szapc' }),
    r('9F', 'lahf', { sem: 'lahf', f: 'r:szapc' }),
    r('A0', 'mov AL,Ob', { sem: 'mov' }),
    r('A1', 'mov eAX,Ov', { sem: 'mov' }),
    r('A2', 'mov Ob,AL', { sem: 'mov' }),
    r('A3', 'mov Ov,eAX', { sem: 'mov' }),
    r('A4', 'movs Yb,Xb', { sem: 'movs', f: 'r:d' }),
    r('A5', 'movs Yv,Xv', { sem: 'movs', f: 'r:d' }),
    r('A6', 'cmps Xb,Yb', { sem: 'cmps', f: 'r:d ' + ARITH }),
    r('A7', 'cmps Xv,Yv', { sem: 'cmps', f: 'r:d ' + ARITH }),
    r('A8', 'test AL,Ib', { sem: 'test', f: LOGIC }),
    r('A9', 'test eAX,Iz', { sem: 'test', f: LOGIC }),
    r('AA', 'stos Yb,AL', { sem: 'stos', f: 'r:d' }),
    r('AB', 'stos Yv,eAX', { sem: 'stos', f: 'r:d' }),
    r('AC', 'lods AL,Xb', { sem: 'lods', f: 'r:d' }),
    r('AD', 'lods eAX,Xv', { sem: 'lods', f: 'r:d' }),
    r('AE', 'scas AL,Yb', { sem: 'scas', f: 'r:d ' + ARITH }),
    r('AF', 'scas eAX,Yv', { sem: 'scas', f: 'r:d ' + ARITH }),
    r('B0+r', 'mov Zb,Ib', { sem: 'mov' }),
    r('B8+r', 'mov Zv,Iv', { sem: 'mov' }),
    r('C2', 'ret Iw', { sem: 'ret', ends: true }),
    r('C3', 'ret', { sem: 'ret', ends: true }),
    r('C4 /r mem', 'les Gz,Mp', { sem: 'load_far_ptr' }),
    r('C5 /r mem', 'lds Gz,Mp', { sem: 'load_far_ptr' }),
    r('C6 /0', 'mov Eb,Ib', { sem: 'mov' }),
    r('C7 /0', 'mov Ev,Iz', { sem: 'mov' }),
    r('C8', 'enter Iw,Ib', { sem: 'enter' }),
    r('C9', 'leave', { sem: 'leave' }),
    r('CA', 'retf Iw', { sem: 'ret_far', ends: true }),
    r('CB', 'retf', { sem: 'ret_far', ends: true }),
    r('CC', 'int3', { sem: 'int3', f: 'w:it', ends: true }),
    r('CD', 'int Ib', { sem: 'int', f: 'w:it', ends: true }),
    r('CE', 'into', { sem: 'into', f: 'r:o w:it', ends: true }),
    r('CF', 'iret/iretd', { sem: 'iret', f: 'w:oditszapc', ends: true }),
    r('D4', 'aam Ib', { sem: 'aam', f: 'w:szp u:oac' }),
    r('D5', 'aad Ib', { sem: 'aad', f: 'w:szp u:oac' }),
    r('D6', 'salc', { sem: 'salc', f: 'r:c', status: 'undoc' }),
    r('D7', 'xlat', { sem: 'xlat' }),
    r('E0', 'loopne Jb', { sem: 'loop', f: 'r:z', ends: true }),
    r('E1', 'loope Jb', { sem: 'loop', f: 'r:z', ends: true }),
    r('E2', 'loop Jb', { sem: 'loop', ends: true }),
    r('E3', 'jcxz/jecxz Jb', { sem: 'jcxz', ends: true }),
    r('E4', 'in AL,Ib', { sem: 'in', priv: 'iopl', cls: 'sys' }),
    r('E5', 'in eAX,Ib', { sem: 'in', priv: 'iopl', cls: 'sys' }),
    r('E6', 'out Ib,AL', { sem: 'out', priv: 'iopl', cls: 'sys' }),
    r('E7', 'out Ib,eAX', { sem: 'out', priv: 'iopl', cls: 'sys' }),
    r('E8', 'call Jz', { sem: 'call', ends: true }),
    r('E9', 'jmp Jz', { sem: 'jmp', ends: true }),
    r('EA', 'jmp Ap', { sem: 'jmp_far', ends: true }),
    r('EB', 'jmp Jb', { sem: 'jmp', ends: true }),
    r('EC', 'in AL,DX', { sem: 'in', priv: 'iopl', cls: 'sys' }),
    r('ED', 'in eAX,DX', { sem: 'in', priv: 'iopl', cls: 'sys' }),
    r('EE', 'out DX,AL', { sem: 'out', priv: 'iopl', cls: 'sys' }),
    r('EF', 'out DX,eAX', { sem: 'out', priv: 'iopl', cls: 'sys' }),
    r('F1', 'int1', { sem: 'int1', ends: true, status: 'undoc' }),
    r('F4', 'hlt', { sem: 'hlt', priv: 'cpl0', cls: 'sys', ends: true }),
    r('F5', 'cmc', { sem: 'cmc', f: 'r:c w:c' }),
    r('F6 /0', 'test Eb,Ib', { sem: 'test', f: LOGIC }),
    r('F6 /1', 'test Eb,Ib', { sem: 'test', f: LOGIC, status: 'alias' }),
    r('F6 /2', 'not Eb', { sem: 'not', lock: true }),
    r('F6 /3', 'neg Eb', { sem: 'neg', f: ARITH, lock: true }),
    r('F6 /4', 'mul Eb', { sem: 'mul', f: 'w:oc u:szap' }),
    r('F6 /5', 'imul Eb', { sem: 'imul1', f: 'w:oc u:szap' }),
    r('F6 /6', 'div Eb', { sem: 'div', f: 'u:oszapc' }),
    r('F6 /7', 'idiv Eb', { sem: 'idiv', f: 'u:oszapc' }),
    r('F7 /0', 'test Ev,Iz', { sem: 'test', f: LOGIC }),
    r('F7 /1', 'test Ev,Iz', { sem: 'test', f: LOGIC, status: 'alias' }),
    r('F7 /2', 'not Ev', { sem: 'not', lock: true }),
    r('F7 /3', 'neg Ev', { sem: 'neg', f: ARITH, lock: true }),
    r('F7 /4', 'mul Ev', { sem: 'mul', f: 'w:oc u:szap' }),
    r('F7 /5', 'imul Ev', { sem: 'imul1', f: 'w:oc u:szap' }),
    r('F7 /6', 'div Ev', { sem: 'div', f: 'u:oszapc' }),
    r('F7 /7', 'idiv Ev', { sem: 'idiv', f: 'u:oszapc' }),
    r('F8', 'clc', { sem: 'clc', f: 'w:c' }),
    r('F9', 'stc', { sem: 'stc', f: 'w:c' }),
    r('FA', 'cli', { sem: 'cli', f: 'w:i', priv: 'iopl', cls: 'sys' }),
    r('FB', 'sti', { sem: 'sti', f: 'w:i', priv: 'iopl', cls: 'sys', ends: true }),
    r('FC', 'cld', { sem: 'cld', f: 'w:d' }),
    r('FD', 'std', { sem: 'std', f: 'w:d' }),
    r('FE /0', 'inc Eb', { sem: 'inc', f: 'w:oszap', lock: true }),
    r('FE /1', 'dec Eb', { sem: 'dec', f: 'w:oszap', lock: true }),
    r('FF /0', 'inc Ev', { sem: 'inc', f: 'w:oszap', lock: true }),
    r('FF /1', 'dec Ev', { sem: 'dec', f: 'w:oszap', lock: true }),
    r('FF /2', 'call Ev', { sem: 'call', ends: true }),
    r('FF /3 mem', 'call Mp', { sem: 'call_far', ends: true }),
    r('FF /4', 'jmp Ev', { sem: 'jmp', ends: true }),
    r('FF /5 mem', 'jmp Mp', { sem: 'jmp_far', ends: true }),
    r('FF /6', 'push Ev', { sem: 'push' }),
  );
  return rows;
}

function twoByteRows(): RowSpec[] {
  const rows: RowSpec[] = [
    r('0F 00 /0', 'sldt Ew', { sem: 'sldt', priv: 'pm', cls: 'sys' }),
    r('0F 00 /1', 'str Ew', { sem: 'str', priv: 'pm', cls: 'sys' }),
    r('0F 00 /2', 'lldt Ew', { sem: 'lldt', priv: 'pm', cls: 'sys', ends: true }),
    r('0F 00 /3', 'ltr Ew', { sem: 'ltr', priv: 'pm', cls: 'sys', ends: true }),
    r('0F 00 /4', 'verr Ew', { sem: 'verr', f: 'w:z', priv: 'pm', cls: 'sys' }),
    r('0F 00 /5', 'verw Ew', { sem: 'verw', f: 'w:z', priv: 'pm', cls: 'sys' }),
    r('0F 01 /0 mem', 'sgdt Ms', { sem: 'sgdt', cls: 'sys' }),
    r('0F 01 /1 mem', 'sidt Ms', { sem: 'sidt', cls: 'sys' }),
    r('0F 01 /2 mem', 'lgdt Ms', { sem: 'lgdt', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 01 /3 mem', 'lidt Ms', { sem: 'lidt', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 01 /4', 'smsw Ew', { sem: 'smsw', cls: 'sys' }),
    r('0F 01 /6', 'lmsw Ew', { sem: 'lmsw', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 01 /7 mem', 'invlpg M', { sem: 'invlpg', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 02 /r', 'lar Gv,Ew', { sem: 'lar', f: 'w:z', priv: 'pm', cls: 'sys' }),
    r('0F 03 /r', 'lsl Gv,Ew', { sem: 'lsl', f: 'w:z', priv: 'pm', cls: 'sys' }),
    r('0F 06', 'clts', { sem: 'clts', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 08', 'invd', { sem: 'invd', priv: 'cpl0', cls: 'sys' }),
    r('0F 09', 'wbinvd', { sem: 'wbinvd', priv: 'cpl0', cls: 'sys' }),
    r('0F 0B', 'ud2', { sem: 'ud', cls: 'ud', ends: true }),
    r('0F 18 /r mem', 'nop Ev', { sem: 'nop' }),
    r('0F 18 /r reg', 'nop Ev', { sem: 'nop' }),
    ...[0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f].map((o) => r(`0F ${hex(o)} /r`, 'nop Ev', { sem: 'nop' })),
    r('0F 20 /r', 'mov Rd,Cd', { sem: 'mov_from_cr', priv: 'cpl0', cls: 'sys', f: 'u:oszapc' }),
    r('0F 21 /r', 'mov Rd,Dd', { sem: 'mov_from_dr', priv: 'cpl0', cls: 'sys', f: 'u:oszapc' }),
    r('0F 22 /r', 'mov Cd,Rd', { sem: 'mov_to_cr', priv: 'cpl0', cls: 'sys', f: 'u:oszapc', ends: true }),
    r('0F 23 /r', 'mov Dd,Rd', { sem: 'mov_to_dr', priv: 'cpl0', cls: 'sys', f: 'u:oszapc', ends: true }),
    r('0F 30', 'wrmsr', { sem: 'wrmsr', priv: 'cpl0', cls: 'sys', ends: true }),
    r('0F 31', 'rdtsc', { sem: 'rdtsc', cls: 'sys' }),
    r('0F 32', 'rdmsr', { sem: 'rdmsr', priv: 'cpl0', cls: 'sys' }),
    r('0F 33', 'rdpmc', { sem: 'rdpmc', cls: 'sys' }),
    r('0F 34', 'sysenter', { sem: 'sysenter', f: 'w:ir', cls: 'sys', ends: true }),
    r('0F 35', 'sysexit', { sem: 'sysexit', priv: 'cpl0', cls: 'sys', ends: true }),
  ];
  CC.forEach((cc, i) => {
    rows.push(r(`0F ${hex(0x40 + i)} /r`, `cmov${cc} Gv,Ev`, { sem: 'cmovcc', f: `r:${CC_FLAGS[i]}` }));
    rows.push(r(`0F ${hex(0x80 + i)}`, `j${cc} Jz`, { sem: 'jcc', f: `r:${CC_FLAGS[i]}`, ends: true }));
    rows.push(r(`0F ${hex(0x90 + i)} /r`, `set${cc} Eb`, { sem: 'setcc', f: `r:${CC_FLAGS[i]}` }));
  });
  const BITF = 'w:c u:oszap';
  rows.push(
    r('0F A0', 'push FS', { sem: 'push_seg' }),
    r('0F A1', 'pop FS', { sem: 'pop_seg' }),
    r('0F A2', 'cpuid', { sem: 'cpuid', cls: 'sys' }),
    r('0F A3 /r', 'bt Ev,Gv', { sem: 'bt', f: BITF }),
    r('0F A4 /r', 'shld Ev,Gv,Ib', { sem: 'shld', f: 'w:oszpc u:a' }),
    r('0F A5 /r', 'shld Ev,Gv,CL', { sem: 'shld', f: 'w:oszpc u:a' }),
    r('0F A8', 'push GS', { sem: 'push_seg' }),
    r('0F A9', 'pop GS', { sem: 'pop_seg' }),
    r('0F AA', 'rsm', { sem: 'rsm', cls: 'ud', ends: true }),
    r('0F AB /r', 'bts Ev,Gv', { sem: 'bts', f: BITF, lock: true }),
    r('0F AC /r', 'shrd Ev,Gv,Ib', { sem: 'shrd', f: 'w:oszpc u:a' }),
    r('0F AD /r', 'shrd Ev,Gv,CL', { sem: 'shrd', f: 'w:oszpc u:a' }),
    r('0F AE /0 mem', 'fxsave Mfx', { sem: 'fxsave', cls: 'x87' }),
    r('0F AE /1 mem', 'fxrstor Mfx', { sem: 'fxrstor', cls: 'x87' }),
    r('0F AE /2 mem', 'ldmxcsr Md', { sem: 'ud', cls: 'simd' }),
    r('0F AE /3 mem', 'stmxcsr Md', { sem: 'ud', cls: 'simd' }),
    r('0F AE /7 mem', 'clflush Mb', { sem: 'ud', cls: 'simd' }),
    r('0F AE /5 reg', 'lfence', { sem: 'ud', cls: 'simd' }),
    r('0F AE /6 reg', 'mfence', { sem: 'ud', cls: 'simd' }),
    r('0F AE /7 reg', 'sfence', { sem: 'ud', cls: 'simd' }),
    r('0F AF /r', 'imul Gv,Ev', { sem: 'imul2', f: 'w:oc u:szap' }),
    r('0F B0 /r', 'cmpxchg Eb,Gb', { sem: 'cmpxchg', f: ARITH, lock: true }),
    r('0F B1 /r', 'cmpxchg Ev,Gv', { sem: 'cmpxchg', f: ARITH, lock: true }),
    r('0F B2 /r mem', 'lss Gz,Mp', { sem: 'load_far_ptr', ends: true }),
    r('0F B3 /r', 'btr Ev,Gv', { sem: 'btr', f: BITF, lock: true }),
    r('0F B4 /r mem', 'lfs Gz,Mp', { sem: 'load_far_ptr' }),
    r('0F B5 /r mem', 'lgs Gz,Mp', { sem: 'load_far_ptr' }),
    r('0F B6 /r', 'movzx Gv,Eb', { sem: 'movzx' }),
    r('0F B7 /r', 'movzx Gv,Ew', { sem: 'movzx' }),
    r('0F B9 /r', 'ud1 Gv,Ev', { sem: 'ud', cls: 'ud', ends: true }),
    r('0F BA /4', 'bt Ev,Ib', { sem: 'bt', f: BITF }),
    r('0F BA /5', 'bts Ev,Ib', { sem: 'bts', f: BITF, lock: true }),
    r('0F BA /6', 'btr Ev,Ib', { sem: 'btr', f: BITF, lock: true }),
    r('0F BA /7', 'btc Ev,Ib', { sem: 'btc', f: BITF, lock: true }),
    r('0F BB /r', 'btc Ev,Gv', { sem: 'btc', f: BITF, lock: true }),
    r('0F BC /r', 'bsf Gv,Ev', { sem: 'bsf', f: 'w:z u:osapc' }),
    r('0F BD /r', 'bsr Gv,Ev', { sem: 'bsr', f: 'w:z u:osapc' }),
    r('0F BE /r', 'movsx Gv,Eb', { sem: 'movsx' }),
    r('0F BF /r', 'movsx Gv,Ew', { sem: 'movsx' }),
    r('0F C0 /r', 'xadd Eb,Gb', { sem: 'xadd', f: ARITH, lock: true }),
    r('0F C1 /r', 'xadd Ev,Gv', { sem: 'xadd', f: ARITH, lock: true }),
    r('0F C7 /1 mem', 'cmpxchg8b Mq', { sem: 'cmpxchg8b', f: 'w:z', lock: true }),
    r('0F C8+r', 'bswap Zd', { sem: 'bswap' }),
  );
  rows.push(...simdRows());
  return rows;
}

/**
 * The MMX/SSE/SSE2 opcode space, by length only. Each opcode takes a ModRM byte;
 * those listed in SIMD_IMM8 take an 8-bit immediate after it. The mandatory
 * prefixes 66/F2/F3 select among forms without changing the length, so one row
 * per opcode covers all of them.
 */
const SIMD_OPCODES = [
  ...range(0x10, 0x17), ...range(0x28, 0x2f), ...range(0x50, 0x7f),
  0xc2, 0xc3, 0xc4, 0xc5, 0xc6, ...range(0xd0, 0xfe),
].filter((o) => o !== 0x77 && !(o >= 0x78 && o <= 0x7b));
const SIMD_IMM8 = new Set([0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]);

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function simdRows(): RowSpec[] {
  const rows = SIMD_OPCODES.map((o) => r(`0F ${hex(o)} /r`, SIMD_IMM8.has(o) ? 'simd Ib' : 'simd', { sem: 'ud', cls: 'simd' }));
  rows.push(r('0F 77', 'emms', { sem: 'ud', cls: 'simd' }));
  // 0F 38 and 0F 3A are not here: they are three-byte maps (SSSE3 and later; a
  // third opcode byte comes before ModRM), undefined (#UD) on the P6.
  return rows;
}

function x87Rows(): RowSpec[] {
  const rows: RowSpec[] = [];
  const arith = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];
  const iarith = ['fiadd', 'fimul', 'ficom', 'ficomp', 'fisub', 'fisubr', 'fidiv', 'fidivr'];
  const x = (enc: string, syntax: string, sem: string, extra: RowOptions = {}) =>
    r(enc, syntax, { sem, cls: 'x87', ...extra });
  arith.forEach((op, i) => {
    const compare = op === 'fcom' || op === 'fcomp';
    rows.push(x(`D8 /${i} mem`, `${op} Mfs`, op));
    rows.push(x(`DC /${i} mem`, `${op} Mfd`, op));
    rows.push(x(`D8 ${hex(0xc0 + i * 8)}+i`, compare ? `${op} STi` : `${op} ST,STi`, op));
  });
  iarith.forEach((op, i) => {
    rows.push(x(`DA /${i} mem`, `${op} Mdi`, op));
    rows.push(x(`DE /${i} mem`, `${op} Mwi`, op));
  });
  rows.push(
    x('D9 /0 mem', 'fld Mfs', 'fld'),
    x('D9 /2 mem', 'fst Mfs', 'fst'),
    x('D9 /3 mem', 'fstp Mfs', 'fstp'),
    x('D9 /4 mem', 'fldenv Menv', 'fldenv'),
    x('D9 /5 mem', 'fldcw Mw', 'fldcw'),
    x('D9 /6 mem', 'fnstenv Menv', 'fnstenv'),
    x('D9 /7 mem', 'fnstcw Mw', 'fnstcw'),
    x('D9 C0+i', 'fld STi', 'fld'),
    x('D9 C8+i', 'fxch STi', 'fxch'),
    x('D9 D0', 'fnop', 'fnop'),
    x('D9 D8+i', 'fstp1 STi', 'fstp', { status: 'undoc' }),
  );
  const d9 = ['fchs', 'fabs', '', '', 'ftst', 'fxam', '', '', 'fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', '',
    'f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp', 'fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos'];
  d9.forEach((op, i) => { if (op) rows.push(x(`D9 ${hex(0xe0 + i)}`, op, op)); });
  rows.push(
    x('DA C0+i', 'fcmovb ST,STi', 'fcmov', { f: 'r:c' }),
    x('DA C8+i', 'fcmove ST,STi', 'fcmov', { f: 'r:z' }),
    x('DA D0+i', 'fcmovbe ST,STi', 'fcmov', { f: 'r:zc' }),
    x('DA D8+i', 'fcmovu ST,STi', 'fcmov', { f: 'r:p' }),
    x('DA E9', 'fucompp', 'fucompp'),
    x('DB /0 mem', 'fild Mdi', 'fild'),
    x('DB /2 mem', 'fist Mdi', 'fist'),
    x('DB /3 mem', 'fistp Mdi', 'fistp'),
    x('DB /5 mem', 'fld Mft', 'fld'),
    x('DB /7 mem', 'fstp Mft', 'fstp'),
    x('DB C0+i', 'fcmovnb ST,STi', 'fcmov', { f: 'r:c' }),
    x('DB C8+i', 'fcmovne ST,STi', 'fcmov', { f: 'r:z' }),
    x('DB D0+i', 'fcmovnbe ST,STi', 'fcmov', { f: 'r:zc' }),
    x('DB D8+i', 'fcmovnu ST,STi', 'fcmov', { f: 'r:p' }),
    x('DB E0', 'fneni', 'fnop'),
    x('DB E1', 'fndisi', 'fnop'),
    x('DB E2', 'fnclex', 'fnclex'),
    x('DB E3', 'fninit', 'fninit'),
    x('DB E4', 'fnsetpm', 'fnop'),
    x('DB E8+i', 'fucomi ST,STi', 'fucomi', { f: 'w:oszapc' }),
    x('DB F0+i', 'fcomi ST,STi', 'fcomi', { f: 'w:oszapc' }),
    x('DC C0+i', 'fadd STi,ST', 'fadd'),
    x('DC C8+i', 'fmul STi,ST', 'fmul'),
    x('DC D0+i', 'fcom2 STi', 'fcom', { status: 'undoc' }),
    x('DC D8+i', 'fcomp3 STi', 'fcomp', { status: 'undoc' }),
    x('DC E0+i', 'fsubr STi,ST', 'fsubr'),
    x('DC E8+i', 'fsub STi,ST', 'fsub'),
    x('DC F0+i', 'fdivr STi,ST', 'fdivr'),
    x('DC F8+i', 'fdiv STi,ST', 'fdiv'),
    x('DD /0 mem', 'fld Mfd', 'fld'),
    x('DD /2 mem', 'fst Mfd', 'fst'),
    x('DD /3 mem', 'fstp Mfd', 'fstp'),
    x('DD /4 mem', 'frstor Mst', 'frstor'),
    x('DD /6 mem', 'fnsave Mst', 'fnsave'),
    x('DD /7 mem', 'fnstsw Mw', 'fnstsw'),
    x('DD C0+i', 'ffree STi', 'ffree'),
    x('DD C8+i', 'fxch4 STi', 'fxch', { status: 'undoc' }),
    x('DD D0+i', 'fst STi', 'fst'),
    x('DD D8+i', 'fstp STi', 'fstp'),
    x('DD E0+i', 'fucom STi', 'fucom'),
    x('DD E8+i', 'fucomp STi', 'fucomp'),
    x('DE C0+i', 'faddp STi,ST', 'faddp'),
    x('DE C8+i', 'fmulp STi,ST', 'fmulp'),
    x('DE D0+i', 'fcomp5 STi', 'fcomp', { status: 'undoc' }),
    x('DE D9', 'fcompp', 'fcompp'),
    x('DE E0+i', 'fsubrp STi,ST', 'fsubrp'),
    x('DE E8+i', 'fsubp STi,ST', 'fsubp'),
    x('DE F0+i', 'fdivrp STi,ST', 'fdivrp'),
    x('DE F8+i', 'fdivp STi,ST', 'fdivp'),
    x('DF /0 mem', 'fild Mwi', 'fild'),
    x('DF /2 mem', 'fist Mwi', 'fist'),
    x('DF /3 mem', 'fistp Mwi', 'fistp'),
    x('DF /4 mem', 'fbld Mbcd', 'fbld'),
    x('DF /5 mem', 'fild Mqi', 'fild'),
    x('DF /6 mem', 'fbstp Mbcd', 'fbstp'),
    x('DF /7 mem', 'fistp Mqi', 'fistp'),
    x('DF C0+i', 'ffreep STi', 'ffreep', { status: 'undoc' }),
    x('DF C8+i', 'fxch7 STi', 'fxch', { status: 'undoc' }),
    x('DF D0+i', 'fstp8 STi', 'fstp', { status: 'undoc' }),
    x('DF D8+i', 'fstp9 STi', 'fstp', { status: 'undoc' }),
    x('DF E0', 'fnstsw AX', 'fnstsw'),
    x('DF E8+i', 'fucomip ST,STi', 'fucomip', { f: 'w:oszapc' }),
    x('DF F0+i', 'fcomip ST,STi', 'fcomip', { f: 'w:oszapc' }),
  );
  return rows;
}

/** Every row of the table, in encoding order within each map. */
export const TABLE: readonly RowSpec[] = [...oneByteRows(), ...twoByteRows(), ...x87Rows()];
