// Reads manifests for the CLI: files, directories (recursively, *.yaml, *.yml, *.json) and stdin,
// split into documents that remember their file, their text range and their line numbers, so that
// findings point at a line and `fix` can rewrite one document and leave the others byte for byte.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import { isObject, type KubeObject } from '../workloads/locate.js';
import type { Segment } from '../workloads/types.js';

export const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface SourceFile {
  /** As the user named it (or `-` for stdin). */
  name: string;
  text: string;
  documents: SourceDocument[];
}

export interface SourceDocument {
  file: SourceFile;
  doc: Document;
  lines: LineCounter;
  /** Text this document owns: from the end of the previous one to its own end. */
  start: number;
  end: number;
  line: number;
  /** Parsed objects: the document itself, or the items of a v1 List. */
  objects: LocatedObject[];
}

export interface LocatedObject {
  object: KubeObject;
  /** Path of the object inside its document ([] or ['items', i]). */
  base: Segment[];
  line: number;
}

export interface InputProblem {
  source: string;
  message: string;
}


/** Expands the CLI's arguments to a sorted list of manifest files; `-` stays as stdin. */
export async function expandPaths(args: readonly string[], problems: InputProblem[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push('-');
      continue;
    }
    let info;
    try {
      info = await stat(arg);
    } catch (err) {
      problems.push({ source: arg, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
      continue;
    }
    if (info.isDirectory()) out.push(...(await walk(arg)));
    else out.push(arg);
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile() && MANIFEST_FILE.test(e.name)) out.push(path);
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_FILE_BYTES) throw new Error(`input is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and parses one file; problems (unreadable, too large, invalid YAML) are collected, not thrown. */
export async function readSource(name: string, problems: InputProblem[]): Promise<SourceFile | undefined> {
  let text: string;
  try {
    if (name === '-') {
      text = await readStdin();
    } else {
      const info = await stat(name);
      if (info.size > MAX_FILE_BYTES) {
        problems.push({ source: name, message: `file is ${(info.size / 1024 / 1024).toFixed(1)} MiB, larger than the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit` });
        return undefined;
      }
      text = await readFile(name, 'utf8');
    }
  } catch (err) {
    problems.push({ source: name, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
  const file: SourceFile = { name, text, documents: [] };
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
  if (!Array.isArray(docs)) return file; // an empty stream
  let previousEnd = 0;
  for (const doc of docs) {
    const error = doc.errors[0];
    const line = lines.linePos(doc.contents?.range?.[0] ?? doc.range[0]).line;
    if (error) {
      const at = error.linePos?.[0];
      problems.push({ source: `${name}:${at?.line ?? line}`, message: `invalid YAML: ${error.message.split('\n')[0]}` });
      previousEnd = doc.range[2];
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    const entry: SourceDocument = { file, doc, lines, start: previousEnd, end: doc.range[2], line, objects: [] };
    previousEnd = doc.range[2];
    if (value === null || value === undefined) continue; // an empty document
    if (!isObject(value)) {
      problems.push({ source: `${name}:${line}`, message: 'document is not a mapping (expected a Kubernetes object)' });
      continue;
    }
    if (value.kind === 'List' || (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items))) {
      const items = Array.isArray(value.items) ? value.items : [];
      items.forEach((item, i) => {
        if (!isObject(item)) {
          problems.push({ source: `${name}:${lineOf(entry, ['items', i])}`, message: `items[${i}] is not a mapping` });
          return;
        }
        entry.objects.push({ object: item as KubeObject, base: ['items', i], line: lineOf(entry, ['items', i]) });
      });
    } else {
      entry.objects.push({ object: value as KubeObject, base: [], line });
    }
    file.documents.push(entry);
  }
  return file;
}

/** The line of the deepest existing node on a path (a missing field points at its parent). */
export function lineOf(entry: SourceDocument, path: readonly Segment[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? entry.doc.contents : entry.doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return entry.lines.linePos(node.range[0]).line;
  }
  return entry.line;
}
