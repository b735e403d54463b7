/**
 * The generated-code safety check (issue 6, item 7). Every source the
 * translator compiles is parsed with acorn and must reference only the
 * generator's vocabulary (jit/codegen.ts GENERATED_NAMES and LOCAL_PATTERNS), and
 * contain no string literal, template literal or regular expression: guest
 * bytes can reach generated code only as numbers.
 *
 * `installSafetyCheck` (vitest setupFiles: test/jit/setup.ts) hooks the check
 * into compile.ts for the whole test run, so a violation fails the test that
 * caused it, whichever test file generated the code.
 */
import { parse } from 'acorn';
import { GENERATED_NAMES, LOCAL_PATTERNS } from '../../jit/codegen.js';
import { observeGeneratedCode } from '../../jit/compile.js';

export interface SafetyReport {
  names: Set<string>;
  problems: string[];
}

type Node = { type: string; [k: string]: unknown };

/** Check one generated source; returns the problems found (empty when it is safe). */
export function checkGeneratedSource(source: string): string[] {
  const problems: string[] = [];
  let ast: Node;
  try {
    // The source is a function body: parse it as one.
    ast = parse(`(function (J, R, M) {\n${source}\n})`, { ecmaVersion: 2022 }) as unknown as Node;
  } catch (e) {
    return [`does not parse: ${(e as Error).message}`];
  }
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) { for (const c of n) walk(c); return; }
    if (!n || typeof n !== 'object') return;
    const node = n as Node;
    if (typeof node.type !== 'string') return;
    switch (node.type) {
      case 'Identifier': {
        const name = node.name as string;
        if (!GENERATED_NAMES.has(name) && !LOCAL_PATTERNS.some((p) => p.test(name))) problems.push(`identifier ${name}`);
        break;
      }
      case 'Literal':
        if (typeof node.value === 'string') problems.push(`string literal ${JSON.stringify(node.value)}`);
        if ('regex' in node && node.regex) problems.push('regular expression');
        if (typeof node.value === 'bigint') problems.push('bigint literal');
        break;
      case 'TemplateLiteral': case 'TaggedTemplateExpression':
        problems.push('template literal');
        break;
      case 'PrivateIdentifier': case 'ImportExpression': case 'MetaProperty': case 'WithStatement':
        problems.push(node.type);
        break;
      default:
        break;
    }
    for (const k in node) {
      const v = node[k];
      if (v !== null && typeof v === 'object') walk(v);
    }
  };
  walk(ast);
  return problems;
}

let installed = false;
/** Sources checked so far in this process. */
export let checkedSources = 0;

export function installSafetyCheck(): void {
  if (installed) return;
  installed = true;
  const seen = new Set<string>();
  observeGeneratedCode((source) => {
    checkedSources++;
    if (seen.has(source)) return;
    if (seen.size > 10000) seen.clear();
    seen.add(source);
    const problems = checkGeneratedSource(source);
    if (problems.length) throw new Error(`generated code is not safe: ${problems.slice(0, 5).join('; ')}`);
  });
}
