// The `drayer` command: reads the command line, finds the command in the table (table.ts), runs
// it, and turns a failure into one sentence and an exit code. The commands live in files by what
// they work on; the network ones (see EXTENSION_MODULES) load only when asked for. Heavy modules
// (SQLite, crypto, files) load inside `run`, so `drayer help` and `--version` start instantly.
// Exit codes: 0 done, 1 failed (a sentence on stderr says why), 2 misused (usage on stderr).
import * as fs from 'node:fs';
import { deviceCommand } from './device-commands.js';
import { parseArgs } from 'node:util';
import { isDrayerError } from '../core/errors.js';
import { addCommand, catCommand } from './file-commands.js';
import { rotateCommand } from './rotate-command.js';
import { fsError } from './input.js';
import { guardOutputs, note, print } from './output.js';
import { getCommand, lsCommand, postCommand, putCommand, rmCommand } from './record-commands.js';
import {
  compatibleCommand,
  createCommand,
  exportCommand,
  importCommand,
  infoCommand,
  linkCommand,
  serversCommand,
  verifyCommand,
  wordsCommand,
} from './stream-commands.js';
import { type Command, commands, type Options, type OptionSpec, registerCommand, UsageError } from './table.js';

// The built-in commands, in the order `drayer help` lists them (help itself comes last).
for (const c of [
  createCommand,
  infoCommand,
  linkCommand,
  wordsCommand,
  rotateCommand,
  serversCommand,
  compatibleCommand,
  postCommand,
  putCommand,
  getCommand,
  rmCommand,
  lsCommand,
  addCommand,
  catCommand,
  verifyCommand,
  exportCommand,
  importCommand,
  deviceCommand,
]) {
  registerCommand(c);
}

/**
 * Modules that register more commands when imported: the network commands `clone`, `sync`,
 * `serve`, `ui-link`. They load only when a command is not built in or for `help`. Named
 * literally, so the bundler (scripts/build-cli.mjs) follows them into chunks of their own.
 */
export const EXTENSION_MODULES: (() => Promise<unknown>)[] = [
  () => import('./pull-commands.js'),
  () => import('./node-commands.js'),
  () => import('./hold-commands.js'),
];

let extensionsLoaded = false;

async function loadExtensions(): Promise<void> {
  if (extensionsLoaded) return;
  extensionsLoaded = true;
  for (const load of EXTENSION_MODULES) await load();
}

// ---------- help and dispatch ----------

function version(): string {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function usageText(): string {
  // help last, after the commands that extensions add
  const listed = [...commands.values()].sort((a, b) => Number(a.name === 'help') - Number(b.name === 'help'));
  const rows: [string, string][] = listed.map((c) => [c.usage, c.summary]);
  rows.push(['--version', 'show the version']);
  // Long usages get their summary on the next line so the list stays readable in 80 columns.
  const width = Math.min(48, Math.max(...rows.map(([u]) => u.length)));
  const lines = rows.map(([u, sum]) => (u.length <= width ? `  ${u.padEnd(width)}  ${sum}` : `  ${u}\n  ${''.padEnd(width)}  ${sum}`));
  return [
    'drayer: signed, mutable streams',
    '',
    'Usage: drayer COMMAND [ARGS]',
    '',
    'Commands:',
    ...lines,
    '',
    'FILE is a stream file (NAME.stream); its secret key, where present, is FILE.privatekey.',
    'Set DRAYER_DEBUG=1 to see stack traces of unexpected errors.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `Usage: drayer ${c.usage}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.${c.details ? `\n\n${c.details}` : ''}`;
}

// A command like any other, so `drayer help help` and `drayer help --help` answer too.
registerCommand({
  name: 'help',
  usage: 'help [COMMAND]',
  summary: 'show this text, or how to use one command',
  positionals: [0, 1],
  async run({ args: [topic] }) {
    if (topic === undefined) {
      await loadExtensions();
      print(usageText());
      return;
    }
    const c = await findCommand(topic);
    if (!c) throw new UsageError(`There is no command "${topic}".`);
    print(commandHelp(c));
  },
});

/**
 * `--latest -2` is a number given wrongly, not a forgotten value, but parseArgs refuses any value
 * that starts with a dash as ambiguous. Joined as `--latest=-2`, it reaches the command, which
 * says what is wrong with it. Other dashed values stay apart (`--title --body x` lacks a title).
 */
function joinNegativeNumbers(args: string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return out.concat(args.slice(i));
    const next = args[i + 1];
    if (a.startsWith('--') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs explains well but speaks to programmers: one sentence a person can act on. */
function parseArgsProblem(e: unknown, args: string[]): string {
  const message = String((e as Error).message);
  const ambiguous = /^Option '(-[^' ]+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    // the value given starts with a dash: likely the value was forgotten and this is the next option
    const opt = ambiguous[1]!;
    const next = args[args.indexOf(opt) + 1] ?? '';
    return `${opt} is missing its value: the next argument, ${next}, starts with a dash. If that is the value, write ${opt}=${next}.`;
  }
  const missing = /^Option '(-[^' ]+)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1]} is missing its value; give it after a space or an = sign.`;
  return message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '.');
}

async function findCommand(name: string): Promise<Command | undefined> {
  if (!commands.has(name)) await loadExtensions();
  return commands.get(name);
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    await loadExtensions();
    note(usageText());
    return 2;
  }
  if (first === '--version' || first === '-V') {
    print(version());
    return 0;
  }
  if (first.startsWith('-') && first !== '--help' && first !== '-h')
    throw new UsageError(`Unknown option ${first}; a command comes first, e.g. "drayer info FILE".`);
  const cmd = await findCommand(first === '--help' || first === '-h' ? 'help' : first);
  if (!cmd) throw new UsageError(`There is no command "${first}".`);

  const dashdash = rest.indexOf('--');
  const flags = dashdash === -1 ? rest : rest.slice(0, dashdash);
  if (flags.includes('--help') || flags.includes('-h')) {
    print(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(rest, cmd.options ?? {}), options: cmd.options ?? {}, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseArgsProblem(e, rest), cmd);
  }
  const [min, max] = cmd.positionals ?? [0, Infinity];
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`${cmd.name} needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}, got ${n}.`, cmd);
  if (n > max)
    throw new UsageError(
      `${cmd.name} takes ${max === min ? '' : 'at most '}${max} argument${max === 1 ? '' : 's'}, got ${n}: ${parsed.positionals.slice(max).join(' ')} is extra.`,
      cmd,
    );
  const code = await cmd.run({ args: parsed.positionals, opts: parsed.values as Options });
  return typeof code === 'number' ? code : 0;
}

/** One sentence on stderr per failure; the stack only with DRAYER_DEBUG=1. */
function report(e: unknown): number {
  const debug = process.env.DRAYER_DEBUG === '1';
  if (e instanceof UsageError) {
    note(`drayer: ${e.message}`);
    note(e.command ? `Usage: drayer ${e.command.usage}` : 'Run "drayer help" to see the commands.');
    return 2;
  }
  if (debug && e instanceof Error) note(e.stack ?? String(e));
  if (isDrayerError(e)) {
    note(`drayer: ${e.message}`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException & { code?: string };
  const code = typeof err?.code === 'string' ? err.code : '';
  if (code && err.path) {
    note(`drayer: ${fsError(e, err.path, 'use').message}`);
  } else if (code === 'ENOSPC') {
    note('drayer: the disk is full; free some space and try again.');
  } else if (code.startsWith('SQLITE_')) {
    note(`drayer: the stream database failed (${err.message}); run "drayer verify FILE", and restore from a backup or a mirror if it is damaged.`);
  } else {
    note(`drayer: unexpected error: ${err?.message ?? String(e)}${debug ? '' : ' (set DRAYER_DEBUG=1 for details)'}`);
  }
  return 1;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  guardOutputs();
  try {
    return await dispatch(argv);
  } catch (e) {
    return report(e);
  }
}
