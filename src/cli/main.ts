#!/usr/bin/env node
/**
 * The `bt86` command. Each subcommand lives in its own module under src/cli/ and
 * is registered here; this file only wires yargs and maps errors to exit codes
 * (2 for usage errors, as QEMU-style launchers do).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { disasmCommand } from './disasm.js';
import { runCommand } from './run.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  await yargs(argv)
    .scriptName('bt86')
    // QEMU-style flags such as --no-reboot are options of their own, not negations of --reboot.
    .parserConfiguration({ 'boolean-negation': false })
    .command(disasmCommand((code) => { exitCode = code; }))
    .command(runCommand((code) => { exitCode = code; }))
    .demandCommand(1, 'bt86: give a command (see --help)')
    .strict()
    .fail((msg, err) => {
      process.stderr.write(`bt86: ${msg ?? err?.message ?? 'usage error'}\n`);
      exitCode = 2;
    })
    .help()
    .parseAsync();
  return exitCode;
}

main(hideBin(process.argv)).then((code) => { process.exitCode = code; });
