// Argument errors, answered the same way by every command: a UsageError with its message and the
// command's usage text, a RegistryConfigError (a flag's file that cannot be used) with its message
// alone; both exit 2. `--help` prints the usage and exits 0.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RegistryConfigError } from './image-lookup-flags.js';

export class UsageError extends Error {}

/** The parsed arguments, or the exit code once help or an argument error has been printed. */
export function parsedOrExitCode<T>(command: string, usage: string, parse: () => T | 'help'): T | number {
  let parsed: T | 'help';
  try {
    parsed = parse();
  } catch (err) {
    if (err instanceof RegistryConfigError) process.stderr.write(`${command}: ${err.message}\n`);
    else if (err instanceof UsageError) process.stderr.write(`${command}: ${err.message}\n\n${usage}`);
    else throw err;
    return 2;
  }
  if (parsed !== 'help') return parsed;
  process.stdout.write(usage);
  return 0;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing without positionals; an unknown or malformed flag is a UsageError. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, strict: true as const, allowPositionals: false as const, options });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** --excluded-namespaces: namespace names separated by commas (serve's background audit and audit). */
export function excludedNamespacesFlag(value: string | undefined): string[] | undefined {
  const names = value?.split(',').map((n) => n.trim());
  const badName = names?.find((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
  if (badName !== undefined) throw new UsageError(`--excluded-namespaces must list namespace names separated by commas, not "${badName}"`);
  return names;
}
