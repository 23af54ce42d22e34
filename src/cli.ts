// `shipline <step> [--input value]...`: routes to dist/<step>/index.js so each step's
// code (and its dependencies) loads only when that step runs.
import { join } from 'node:path';
import type { StepModule } from './runtime/entry';
import { writeErr, writeOut } from './runtime/stdio';

declare const SHIPLINE_CATALOG: { name: string; description: string }[];
declare const SHIPLINE_VERSION: string;

function usage(): string {
  const width = Math.max(...SHIPLINE_CATALOG.map((s) => s.name.length));
  return [
    `shipline ${SHIPLINE_VERSION}: CI steps for container-image pipelines`,
    '',
    'Usage: shipline <step> [--<input> <value>]... [--post]',
    '       shipline <step> --help',
    '',
    'Steps:',
    ...SHIPLINE_CATALOG.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`),
    '',
    'Inputs also come from SHIPLINE_INPUT_<NAME> variables (e.g. SHIPLINE_INPUT_ROLE_ARN).',
    'Outputs print as name=value; exported variables go to $SHIPLINE_ENV_FILE, by default the file env',
    'in the private run directory $SHIPLINE_RUN_DIR (outside the workspace; see docs/security.md).',
    '',
  ].join('\n');
}

function main(argv: string[]): void {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    writeOut(usage());
    process.exitCode = name === undefined ? 2 : 0;
    return;
  }
  if (name === '--version' || name === '-v') {
    writeOut(`${SHIPLINE_VERSION}\n`);
    return;
  }
  if (!SHIPLINE_CATALOG.some((s) => s.name === name)) {
    writeErr(`shipline: '${name}' is not a step. Steps: ${SHIPLINE_CATALOG.map((s) => s.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const mod = require(join(__dirname, name, 'index.js')) as StepModule;
  mod.exec({ argv: rest, viaCli: true });
}

main(process.argv.slice(2));
