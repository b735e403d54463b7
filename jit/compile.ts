/**
 * The last stage: printed source -> JavaScript function.
 *
 * `new Function('J', 'R', 'M', source)` makes the factory; calling it binds the
 * engine environment (J), the region's constants (R) and its mode's memory view
 * (M) and returns the region function. The parameter names are the only text
 * that does not come from the printed AST, and they are fixed here.
 *
 * Every source that reaches `new Function` is offered to the observers first,
 * so the safety test (test/jit/safety.test.ts) can parse each one with acorn
 * and check that it references only the generator's vocabulary.
 */
export type Factory = (J: unknown, R: unknown, M: unknown) => () => unknown;

const observers: ((source: string) => void)[] = [];

/** Register a callback that sees every generated source before it is compiled. */
export function observeGeneratedCode(fn: (source: string) => void): () => void {
  observers.push(fn);
  return () => {
    const i = observers.indexOf(fn);
    if (i >= 0) observers.splice(i, 1);
  };
}

export function compileFactory(source: string): Factory {
  for (const o of observers) o(source);
  return new Function('J', 'R', 'M', source) as Factory;
}
