/**
 * The safety check itself (test/jit/safety.ts): it accepts what the generator
 * makes and rejects names outside its vocabulary, string and template literals
 * and regular expressions. (setup.ts applies it to every generated function of
 * the test run; this file also compiles a sample so the check has run here.)
 */
import { describe, expect, it } from 'vitest';
import { checkGeneratedSource, checkedSources } from './safety.js';
import { createBareMachine, loadKernel } from '../../src/machine/kernels.js';
import { JitEngine } from '../../jit/engine.js';
import { observeGeneratedCode } from '../../jit/compile.js';

describe('generated code safety', () => {
  it('generated sources pass', () => {
    const sources: string[] = [];
    const stop = observeGeneratedCode((s) => sources.push(s));
    for (const name of ['intloop', 'string', 'calls'] as const) {
      const m = createBareMachine();
      const e = new JitEngine(m.cpu, m.phys, null, { mode: 'always' });
      loadKernel(m, name, 3);
      e.run(100000);
    }
    stop();
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const s of sources) expect(checkGeneratedSource(s)).toEqual([]);
    expect(checkedSources).toBeGreaterThanOrEqual(sources.length);
  });

  it('rejects foreign names and string literals', () => {
    expect(checkGeneratedSource('return function () { return 1; };')).toEqual([]);
    expect(checkGeneratedSource("return function () { return 'x'; };")).toContain('string literal "x"');
    expect(checkGeneratedSource('return function () { return `x`; };')).toContain('template literal');
    expect(checkGeneratedSource('return function () { return process.exit(1); };')).toContain('identifier process');
    expect(checkGeneratedSource('return function () { return /x/; };')).toContain('regular expression');
    expect(checkGeneratedSource('return function () { return cpu[eval](1); };')).toContain('identifier eval');
    expect(checkGeneratedSource('return function ( {')[0]).toMatch(/does not parse/);
  });
});
