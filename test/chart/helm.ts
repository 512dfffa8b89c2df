// Runs the helm binary that scripts/install-helm.sh installs, and parses what it renders.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers.js';

const execFileAsync = promisify(execFile);

export const chartDir = join(repoRoot, 'charts/gapguard');

/** helm 4, or helm 3, which the chart must keep working with. */
export type HelmBinary = 'helm' | 'helm3';

/** Where scripts/install-helm.sh puts helm. */
export function helmPath(binary: HelmBinary = 'helm'): string {
  const tools = process.env.GAPGUARD_TOOLS || join(homedir(), '.cache/gapguard-tools');
  const helm = join(tools, 'bin', binary);
  if (!existsSync(helm)) throw new Error(`helm is not installed at ${helm}: run scripts/install-helm.sh`);
  return helm;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the arguments; never throws on a non-zero exit. Asynchronous, so a test server in this process can answer it. */
export async function helm(args: string[], binary: HelmBinary = 'helm'): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await execFileAsync(helmPath(binary), args, { cwd: repoRoot, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A Kubernetes object as rendered: kind, metadata and whatever else its kind carries. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  /** Values, written to a file and passed with -f. */
  values?: Record<string, unknown>;
  namespace?: string;
  release?: string;
  /** More helm template arguments (e.g. --dry-run=server --kubeconfig FILE). */
  args?: string[];
  binary?: HelmBinary;
}

/** `helm template` of the chart; the result of a failed render carries its stderr. */
export async function template(options: RenderOptions = {}): Promise<HelmResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gapguard-chart-'));
  try {
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(options.values ?? {}));
    return await helm([
      'template',
      options.release ?? 'gapguard',
      chartDir,
      '--namespace',
      options.namespace ?? 'gapguard',
      '--values',
      valuesFile,
      ...(options.args ?? []),
    ], options.binary);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parseObjects(yamlText: string): RenderedObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length) throw doc.errors[0];
      return doc.toJS() as RenderedObject | null;
    })
    .filter((obj): obj is RenderedObject => obj !== null);
}

/** The rendered objects; throws with helm's message when the chart does not render. */
export async function render(options: RenderOptions = {}): Promise<RenderedObject[]> {
  const result = await template(options);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

/** The one object of a kind (and name, when several share the kind); throws when absent. */
export function find(objects: RenderedObject[], kind: string, name?: string): RenderedObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${matches.length}`);
  return matches[0]!;
}
