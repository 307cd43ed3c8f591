// The command table of `drayer`: what a command is (usage, options, how many arguments, what it
// runs), the table the dispatcher reads, misuse errors, and small option helpers for commands.

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type Options = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  /** positional arguments after the command name */
  args: string[];
  opts: Options;
}

export interface Command {
  name: string;
  /** what follows `drayer` in the usage line, e.g. `create FILE [--name N]` */
  usage: string;
  /** one line for the command list */
  summary: string;
  /** more for `drayer help NAME`, when the summary is not enough */
  details?: string;
  options?: Record<string, OptionSpec>;
  /** how many positional arguments it takes: [min, max] (max may be Infinity) */
  positionals?: [number, number];
  /** returns the exit code (default 0); throw DrayerError to fail, UsageError for misuse */
  run(ctx: CommandContext): Promise<number | void> | number | void;
}

export const commands = new Map<string, Command>();

/** Add (or replace) a command. cli.ts adds the built-in ones; lazily loaded modules add theirs. */
export function registerCommand(cmd: Command): void {
  commands.set(cmd.name, cmd);
}

/** Misuse of the command line: reported with the usage and exit code 2. */
export class UsageError extends Error {
  readonly command?: Command;
  constructor(message: string, command?: Command) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** `--json`, which many commands take: one JSON document on stdout instead of lines. */
export const jsonOption = { json: { type: 'boolean' } } as const;

/** A string option's value, if given. */
export function str(opts: Options, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}

/** Exactly one of two options (e.g. --value or --value-file). */
export function oneOf(opts: Options, a: string, b: string, cmd: string): [string, string] {
  const va = str(opts, a);
  const vb = str(opts, b);
  if ((va === undefined) === (vb === undefined)) throw new UsageError(`${cmd} needs exactly one of --${a} and --${b}.`, commands.get(cmd));
  return va !== undefined ? [a, va] : [b, vb!];
}
