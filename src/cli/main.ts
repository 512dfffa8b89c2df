#!/usr/bin/env node
// gapguard's command line: serve (the admission webhook), scan and fix (offline), audit (a cluster).
// Exit codes: 0 nothing denied, 1 a finding's action is deny, 2 usage or input errors.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { loadPolicyFile, defaultPolicy, PolicyError } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { podImages } from '../workloads/locate.js';
import { evaluateSources, networkPoliciesOf, type EvaluatedObject, type ScanOptions, type SkippedObject } from './evaluate-sources.js';
import { IMAGE_LOOKUP_OPTIONS, imageLookupConfig, imageLookupUsage, OFFLINE_LOOKUP_BUDGET_MS, RegistryConfigError } from './image-lookup-flags.js';
import { documents, expandPaths, positionedDocuments, readSource, type InputProblem, type LocatedObject, type ReadOptions, type SourceDocument, type SourceFile, wholeText } from './input.js';
import { exitCodeOf, isOutputFormat, OUTPUT_CHOICES, reporterFor, VERSION, wouldDeny } from './report.js';
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

function* allDocuments(files: readonly SourceFile[], problems: InputProblem[], options?: ReadOptions): Generator<SourceDocument> {
  for (const file of files) yield* documents(file, problems, options);
}

type Reader = (files: readonly SourceFile[], problems: InputProblem[], options?: ReadOptions) => Iterable<SourceDocument>;

/**
 * Reads the input and prepares its judging: the policy, the NetworkPolicies of the input, and the
 * registry facts of its images when --resolve-images asks for them. `read` gives the documents
 * (scan reads fast and streams; fix reads with positions). Without lookups the documents are read
 * again for judging, so no more than one is held at a time; with them, they are read once and
 * kept, each object's images found once for the lookups and the notes.
 */
async function prepare({ values, positionals }: Parsed, problems: InputProblem[], read: Reader, patch: boolean) {
  const lookupConfig = imageLookupConfig(values, OFFLINE_LOOKUP_BUDGET_MS);
  const policy = policyFrom(values.policy as string | undefined);
  const files = await readAll(positionals, problems);
  const defaultNamespace = values.namespace as string;
  const options: ScanOptions = { policy, defaultNamespace, inputComplete: values['input-complete'] as boolean, patch };
  if (!lookupConfig) {
    // This pass reports nothing: the judging pass reports every problem once.
    const policies = networkPoliciesOf(read(files, [], { mentioning: 'NetworkPolicy' }), defaultNamespace);
    return { files, policies, options, documents: () => read(files, problems) };
  }
  const documents = [...read(files, problems)];
  const policies = networkPoliciesOf(documents, defaultNamespace);
  const { ImageLookupService, factsFrom, noteMissingFacts } = await import('../registry/lookups.js');
  const images = new Map<LocatedObject, string[]>();
  for (const d of documents) for (const o of d.objects) images.set(o, podImages(o.object));
  const lookups = await new ImageLookupService(lookupConfig).lookUp([...images.values()].flat(), policy);
  options.imageFacts = factsFrom(lookups);
  options.noteMissingFacts = (result, located) => noteMissingFacts(result, images.get(located) ?? [], lookups);
  return { files, policies, options, documents: () => documents };
}

/** Output is gathered into writes of about this size (stdout writes are synchronous). */
const WRITE_CHUNK = 64 * 1024;

async function scan(argv: string[]): Promise<number> {
  const parsed = parse(argv, { output: { type: 'string', short: 'o', default: 'table' } });
  if (parsed.values.help) return help();
  const output = parsed.values.output as string;
  if (!isOutputFormat(output)) throw new UsageError(`--output must be ${OUTPUT_CHOICES}, not "${output}"`);
  // A scan holds one document at a time, and its garbage dies young: V8's first young generation
  // holds it. Left to grow (to 32 MiB under a steady allocation rate), the young generation would be
  // most of what makes memory grow with the input (bench/README.md).
  setFlagsFromString('--semi-space-growth-factor=1');
  const problems: InputProblem[] = [];
  const { policies, options, documents } = await prepare(parsed, problems, allDocuments, false);
  const reporter = reporterFor(output, parsed.positionals.join(' '));
  const skipped: SkippedObject[] = [];
  let denied = false;
  let pending = '';
  evaluateSources(documents(), policies, options, problems, {
    evaluated(e) {
      if (wouldDeny(e.result)) denied = true;
      pending += reporter.object(e);
      if (pending.length >= WRITE_CHUNK) {
        process.stdout.write(pending);
        pending = '';
      }
    },
    skipped: (s) => skipped.push(s),
  });
  process.stdout.write(pending + reporter.end(skipped, problems));
  reportProblems(problems);
  return exitCodeOf(problems.length, denied);
}

function positioned(files: readonly SourceFile[], problems: InputProblem[]): SourceDocument[] {
  return files.flatMap((f) => positionedDocuments(f, problems));
}

async function fix(argv: string[]): Promise<number> {
  const parsed = parse(argv, { 'in-place': { type: 'boolean', default: false } });
  if (parsed.values.help) return help();
  const inPlace = parsed.values['in-place'] as boolean;
  if (inPlace && parsed.positionals.includes('-')) throw new UsageError('--in-place cannot write back to stdin');
  const problems: InputProblem[] = [];
  const { files, policies, options, documents } = await prepare(parsed, problems, positioned, true);
  const docs = [...documents()];
  const fixes = new Map<SourceDocument, EvaluatedObject[]>();
  evaluateSources(docs, policies, options, problems, {
    evaluated(e) {
      if (e.result.patch.length) fixes.set(e.document, [...(fixes.get(e.document) ?? []), e]);
    },
    skipped() {},
  });
  const { fixDocument } = await import('./apply-to-yaml.js');
  const rewritten = new Map<SourceDocument, string>();
  for (const [document, evaluated] of fixes) {
    const fixed = fixDocument(document, evaluated.map((e) => ({ base: e.located.base, patch: e.result.patch })));
    if (typeof fixed === 'string') rewritten.set(document, fixed);
    else problems.push({ source: evaluated[0].source, message: `not fixed: ${fixed.refused}` });
  }
  for (const file of files) {
    // Untouched documents are copied from the original text, byte for byte.
    const original = wholeText(file);
    let text = '';
    let at = 0;
    for (const doc of docs) {
      const fixed = doc.file === file ? rewritten.get(doc) : undefined;
      if (fixed === undefined) continue;
      const { start, end } = doc.positions();
      text += original.slice(at, start) + fixed;
      at = end;
    }
    text += original.slice(at);
    if (!inPlace) process.stdout.write(files.length > 1 ? `# ${file.name}\n${text}` : text);
    else if (text !== original) await writeFile(file.name, text);
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
