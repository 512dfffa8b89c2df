#!/usr/bin/env node
// gapguard's command line: serve (the admission webhook), scan and fix (offline), audit (a cluster).
// Exit codes: 0 nothing denied, 1 a finding's action is deny, 2 usage or input errors.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadPolicyFile, defaultPolicy, PolicyError } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { ImageLookupService } from '../registry/lookups.js';
import { podImages } from '../workloads/locate.js';
import { applyPatchToYaml } from './apply-to-yaml.js';
import { evaluateSources, type ScanOutcome } from './evaluate-sources.js';
import { IMAGE_LOOKUP_OPTIONS, imageLookupConfig, imageLookupUsage, OFFLINE_LOOKUP_BUDGET_MS, RegistryConfigError } from './image-lookup-flags.js';
import { expandPaths, readSource, type InputProblem, type SourceFile } from './input.js';
import { exitCode, isOutputFormat, OUTPUT_CHOICES, formatReport, VERSION } from './report.js';
import { UsageError } from './usage.js';

const USAGE = `gapguard ${VERSION}: stops container security gaps before they reach a cluster

Usage:
  gapguard serve [options]            run the HTTPS admission webhook (gapguard serve --help)
  gapguard scan [paths|dirs|-] [options]
      --output table|json|sarif|html  output format (default table; html: one self-contained page)
  gapguard fix [paths|dirs|-] [options]
      --in-place                      write fixed files back instead of printing them
  gapguard audit [options]            judge what runs in a cluster (gapguard audit --help)
Common options for scan and fix:
  --policy FILE                       policy file merged over the embedded default
  --namespace NS                      namespace of objects that name none (default "default")
  --input-complete                    the input holds every NetworkPolicy: judge flat-network/no-network-policy
                                      in every namespace (otherwise only where policies appear)
${imageLookupUsage(OFFLINE_LOOKUP_BUDGET_MS)}Exit codes: 0 nothing denied, 1 a finding would be denied, 2 usage or input error.
`;

const COMMON_OPTIONS = {
  policy: { type: 'string' },
  namespace: { type: 'string', default: 'default' },
  'input-complete': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  ...IMAGE_LOOKUP_OPTIONS,
} as const;

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }>;
interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(argv: string[], options: OptionSpec): Parsed {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true }) as Parsed;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function policyFrom(file: string | undefined): Policy {
  return file ? loadPolicyFile(file) : defaultPolicy();
}

async function readAll(paths: string[], problems: InputProblem[]): Promise<SourceFile[]> {
  if (paths.length === 0) throw new UsageError('name at least one file, directory or - for stdin');
  const files: SourceFile[] = [];
  for (const name of await expandPaths(paths, problems)) {
    const file = await readSource(name, problems);
    if (file) files.push(file);
  }
  return files;
}

function reportProblems(problems: readonly InputProblem[]): void {
  for (const p of problems) process.stderr.write(`gapguard: ${p.source}: ${p.message}\n`);
}

/** Reads the input and judges it, with the registry facts of its images when --resolve-images asks for them. */
async function judgeInput({ values, positionals }: Parsed, problems: InputProblem[]): Promise<{ files: SourceFile[]; outcome: ScanOutcome }> {
  const lookupConfig = imageLookupConfig(values, OFFLINE_LOOKUP_BUDGET_MS);
  const policy = policyFrom(values.policy as string | undefined);
  const files = await readAll(positionals, problems);
  const images = files.flatMap((f) => f.documents.flatMap((d) => d.objects.flatMap((o) => podImages(o.object))));
  const imageLookups = lookupConfig ? await new ImageLookupService(lookupConfig).lookUp(images, policy) : undefined;
  const options = { policy, defaultNamespace: values.namespace as string, inputComplete: values['input-complete'] as boolean, ...(imageLookups ? { imageLookups } : {}) };
  return { files, outcome: evaluateSources(files, options, problems) };
}

async function scan(argv: string[]): Promise<number> {
  const parsed = parse(argv, { output: { type: 'string', short: 'o', default: 'table' } });
  if (parsed.values.help) return help();
  const output = parsed.values.output as string;
  if (!isOutputFormat(output)) throw new UsageError(`--output must be ${OUTPUT_CHOICES}, not "${output}"`);
  const problems: InputProblem[] = [];
  const { outcome } = await judgeInput(parsed, problems);
  process.stdout.write(formatReport(outcome, output, parsed.positionals.join(' ')));
  reportProblems(problems);
  return exitCode(outcome);
}

async function fix(argv: string[]): Promise<number> {
  const parsed = parse(argv, { 'in-place': { type: 'boolean', default: false } });
  if (parsed.values.help) return help();
  const inPlace = parsed.values['in-place'] as boolean;
  if (inPlace && parsed.positionals.includes('-')) throw new UsageError('--in-place cannot write back to stdin');
  const problems: InputProblem[] = [];
  const { files, outcome } = await judgeInput(parsed, problems);
  const patched = new Set(outcome.evaluated.filter((e) => e.result.patch.length).map((e) => e.document));
  for (const e of outcome.evaluated) if (e.result.patch.length) applyPatchToYaml(e.document.doc, e.located.base, e.result.patch);
  for (const file of files) {
    // Untouched documents are copied from the original text, byte for byte.
    let text = '';
    let at = 0;
    for (const doc of file.documents) {
      if (!patched.has(doc)) continue;
      text += file.text.slice(at, doc.start) + doc.doc.toString();
      at = doc.end;
    }
    text += file.text.slice(at);
    if (!inPlace) process.stdout.write(files.length > 1 ? `# ${file.name}\n${text}` : text);
    else if (text !== file.text) await writeFile(file.name, text);
  }
  reportProblems(problems);
  return problems.length ? 2 : 0;
}

function help(): number {
  process.stdout.write(USAGE);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'scan':
      return scan(rest);
    case 'fix':
      return fix(rest);
    case 'audit': {
      const { runAudit } = await import('./audit.js');
      return runAudit(rest);
    }
    case 'serve': {
      const { runServe } = await import('./serve.js');
      return runServe(rest);
    }
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return help();
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`gapguard: ${err.message}\n\n${USAGE}`);
    else if (err instanceof PolicyError) process.stderr.write(`gapguard: policy error: ${err.message}\n`);
    else if (err instanceof RegistryConfigError) process.stderr.write(`gapguard: ${err.message}\n`);
    else process.stderr.write(`gapguard: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
