// What the scenarios do as a cluster user: apply manifests with kubectl, read objects back, make
// namespaces in a given gapguard mode, and read the apiserver's audit log.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from './run.js';
import { env, kubectl } from './suite.js';

export type Manifest = Record<string, unknown>;

/** `kubectl apply -f -` of one object in a namespace; extra arguments such as --dry-run=server. */
export function apply(namespace: string, manifest: Manifest, ...args: string[]): Promise<RunResult> {
  return kubectl(['-n', namespace, 'apply', '-f', '-', ...args], JSON.stringify(manifest));
}

/** One object, or the list of them when name is empty; extra arguments such as --show-managed-fields. */
export async function getJson<T = Record<string, any>>(namespace: string, resource: string, name: string, ...args: string[]): Promise<T> {
  const r = await kubectl(['-n', namespace, 'get', resource, ...(name ? [name] : []), '-o', 'json', ...args]);
  if (r.code !== 0) throw new Error(`kubectl get ${resource} ${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export async function exists(namespace: string, resource: string, name: string): Promise<boolean> {
  const r = await kubectl(['-n', namespace, 'get', resource, name, '--ignore-not-found', '-o', 'name']);
  if (r.code !== 0) throw new Error(`kubectl get ${resource} ${name} failed: ${r.stderr}`);
  return r.stdout.trim() !== '';
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A new namespace, labelled with a gapguard mode unless mode is undefined (the chart's default, audit). */
export async function createNamespace(prefix: string, mode?: 'enforce' | 'audit' | 'off'): Promise<string> {
  const name = uniqueName(`e2e-${prefix}`);
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(mode ? { labels: { 'gapguard.io/mode': mode } } : {}) } };
  const r = await kubectl(['apply', '-f', '-'], JSON.stringify(ns));
  if (r.code !== 0) throw new Error(`cannot create namespace ${name}: ${r.stderr}`);
  return name;
}

export async function setMode(namespace: string, mode: 'enforce' | 'audit' | 'off'): Promise<void> {
  const r = await kubectl(['label', 'namespace', namespace, `gapguard.io/mode=${mode}`, '--overwrite']);
  if (r.code !== 0) throw new Error(`cannot label namespace ${namespace}: ${r.stderr}`);
}

/** The "Warning: ..." lines kubectl printed: the admission warnings the apiserver passed on. */
export function warnings(r: RunResult): string[] {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length));
}

/** Polls until check() returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

/** Completed requests in the apiserver's audit log (level Metadata) for objects in a namespace. */
export function auditEvents(namespace: string, resource?: string): AuditEvent[] {
  return readFileSync(env().auditLog, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"namespace":"${namespace}"`))
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === 'ResponseComplete' && e.objectRef?.namespace === namespace && (resource === undefined || e.objectRef.resource === resource));
}

/** A kubeconfig file in dir for the suite's API server, with the suite's token or another. */
export function kubeconfigWith(dir: string, name: string, fields: { server?: string; token?: string }): string {
  const e = env();
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${fields.server ?? e.apiServer}`,
      `    certificate-authority: ${e.apiServerCaFile}`,
      'users:',
      `- name: ${name}`,
      '  user:',
      `    token: ${fields.token ?? e.token}`,
      'contexts:',
      `- name: ${name}`,
      '  context:',
      '    cluster: e2e',
      `    user: ${name}`,
      `current-context: ${name}`,
      '',
    ].join('\n'),
  );
  return file;
}
