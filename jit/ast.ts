/**
 * A small ESTree builder: the only way the translator makes code.
 *
 * Generated code is built as ESTree nodes and printed by astring, never pasted
 * together from strings, so that what reaches `new Function` is exactly the
 * templates of codegen.ts and forms.ts with numbers in them. Identifiers come
 * from the generator's own vocabulary (safety.ts lists it); literals are numbers,
 * booleans and null; there is no builder for a string literal at all.
 */
import type * as ES from 'estree';

export type Expr = ES.Expression;
export type Stmt = ES.Statement;

export function id(name: string): ES.Identifier {
  return { type: 'Identifier', name };
}

/** A numeric literal (negative numbers become a unary minus, as ESTree wants). */
export function num(n: number): Expr {
  if (!Number.isFinite(n)) throw new Error(`jit: non-finite literal ${n}`);
  if (n < 0 || Object.is(n, -0)) return { type: 'UnaryExpression', operator: '-', prefix: true, argument: num(-n) };
  return { type: 'Literal', value: n, raw: String(n) };
}

export function bool(b: boolean): Expr {
  return { type: 'Literal', value: b, raw: b ? 'true' : 'false' };
}

export const NULL: Expr = { type: 'Literal', value: null, raw: 'null' };

/** `obj.prop` */
export function dot(obj: Expr | string, prop: string): ES.MemberExpression {
  return { type: 'MemberExpression', object: typeof obj === 'string' ? id(obj) : obj, property: id(prop), computed: false, optional: false };
}

/** `obj[index]` */
export function at(obj: Expr | string, index: Expr | number): ES.MemberExpression {
  return {
    type: 'MemberExpression', object: typeof obj === 'string' ? id(obj) : obj,
    property: typeof index === 'number' ? num(index) : index, computed: true, optional: false,
  };
}

export function call(callee: Expr | string, args: (Expr | number)[]): Expr {
  return {
    type: 'CallExpression', callee: typeof callee === 'string' ? id(callee) : callee,
    arguments: args.map((a) => (typeof a === 'number' ? num(a) : a)), optional: false,
  };
}

type BinOp = ES.BinaryOperator;

export function bin(op: BinOp, left: Expr | number, right: Expr | number): Expr {
  return { type: 'BinaryExpression', operator: op, left: typeof left === 'number' ? num(left) : left, right: typeof right === 'number' ? num(right) : right };
}

export function and(...xs: Expr[]): Expr {
  return xs.reduce((l, r) => ({ type: 'LogicalExpression', operator: '&&', left: l, right: r }));
}

export function or(...xs: Expr[]): Expr {
  return xs.reduce((l, r) => ({ type: 'LogicalExpression', operator: '||', left: l, right: r }));
}

export function not(e: Expr): Expr {
  return { type: 'UnaryExpression', operator: '!', prefix: true, argument: e };
}

export function neg(e: Expr): Expr {
  return { type: 'UnaryExpression', operator: '-', prefix: true, argument: e };
}

export function bnot(e: Expr): Expr {
  return { type: 'UnaryExpression', operator: '~', prefix: true, argument: e };
}

export function cond(test: Expr, yes: Expr, no: Expr): Expr {
  return { type: 'ConditionalExpression', test, consequent: yes, alternate: no };
}

/** `target = value` (or a compound operator) as a statement. */
export function assign(target: string | ES.MemberExpression, value: Expr | number, op: ES.AssignmentOperator = '='): Stmt {
  return expr({
    type: 'AssignmentExpression', operator: op,
    left: typeof target === 'string' ? id(target) : target,
    right: typeof value === 'number' ? num(value) : value,
  });
}

export function expr(e: Expr): Stmt {
  return { type: 'ExpressionStatement', expression: e };
}

export function update(name: string | ES.MemberExpression, op: '++' | '--' = '++'): Stmt {
  return expr({ type: 'UpdateExpression', operator: op, prefix: false, argument: typeof name === 'string' ? id(name) : name });
}

export function block(body: Stmt[]): ES.BlockStatement {
  return { type: 'BlockStatement', body };
}

export function if_(test: Expr, yes: Stmt[], no?: Stmt[]): Stmt {
  return { type: 'IfStatement', test, consequent: block(yes), alternate: no && no.length ? block(no) : null };
}

function decl(kind: 'let' | 'const', vars: [string, Expr | number][]): Stmt {
  return {
    type: 'VariableDeclaration', kind,
    declarations: vars.map(([n, init]) => ({ type: 'VariableDeclarator', id: id(n), init: typeof init === 'number' ? num(init) : init })),
  };
}

export function let_(vars: [string, Expr | number][]): Stmt {
  return decl('let', vars);
}

export function const_(vars: [string, Expr | number][]): Stmt {
  return decl('const', vars);
}

export function ret(e: Expr | null): Stmt {
  return { type: 'ReturnStatement', argument: e };
}

export function throw_(e: Expr): Stmt {
  return { type: 'ThrowStatement', argument: e };
}

export const BREAK: Stmt = { type: 'BreakStatement', label: null };
export const CONTINUE: Stmt = { type: 'ContinueStatement', label: null };

export function switch_(disc: Expr, cases: { test: number | null; body: Stmt[] }[]): Stmt {
  return {
    type: 'SwitchStatement', discriminant: disc,
    cases: cases.map((c) => ({ type: 'SwitchCase', test: c.test === null ? null : num(c.test), consequent: c.body })),
  };
}

export function forever(body: Stmt[]): Stmt {
  return { type: 'ForStatement', init: null, test: null, update: null, body: block(body) };
}

export function try_(body: Stmt[], param: string, handler: Stmt[]): Stmt {
  return { type: 'TryStatement', block: block(body), handler: { type: 'CatchClause', param: id(param), body: block(handler) }, finalizer: null };
}

export function fn(params: string[], body: Stmt[]): Expr {
  return { type: 'FunctionExpression', id: null, params: params.map(id), body: block(body), generator: false, async: false };
}

export function program(body: Stmt[]): ES.Program {
  return { type: 'Program', sourceType: 'script', body };
}
