// Reads manifests for the CLI: files, directories (recursively, *.yaml, *.yml, *.json) and stdin,
// split into documents that remember their file and line. Documents are read as kubectl reads them
// (src/yaml/kube-rules.ts). Judging uses the fast reader, one document at a time; a document's
// positions (the `yaml` package's, for the line of a finding) are parsed only when asked for, and
// `fix` reads its files with positions throughout so it can rewrite one document and leave the
// others byte for byte.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Document, LineCounter } from 'yaml';
import { isObject, type KubeObject } from '../workloads/locate.js';
import type { Segment } from '../workloads/types.js';
import { chunkStarts, documentsOf, isRefusal } from '../yaml/fast.js';
import { nodeAt, parseKubeDocuments, readPositioned, yaml } from '../yaml/document.js';

export const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface SourceFile {
  /** As the user named it (or `-` for stdin). */
  name: string;
  /** The whole text, once read: stdin is read whole, files only by `fix` (scan streams them, see pieces). */
  text?: string;
}

export interface SourceDocument {
  file: SourceFile;
  line: number;
  /** The value kubectl reads (the document, or the List holding the objects). */
  value: unknown;
  /** Parsed objects: the document itself, or the items of a v1 List. */
  objects: LocatedObject[];
  /** The document with positions, parsed on first use. */
  positions(): PositionedDocument;
}

export interface PositionedDocument {
  doc: Document.Parsed;
  lines: LineCounter;
  /** Lines of the file before the text `doc` was parsed from. */
  lineBase: number;
  /** Text this document owns in its file: from the end of the previous one to its own end. */
  start: number;
  end: number;
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

function cannotRead(name: string, err: unknown): InputProblem {
  return { source: name, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
}

/**
 * Opens one input: stdin is read whole, a file is checked (readable, not too large) and read later,
 * a piece at a time. Problems are collected, not thrown.
 */
export async function readSource(name: string, problems: InputProblem[]): Promise<SourceFile | undefined> {
  try {
    if (name === '-') return { name, text: await readStdin() };
    const info = await stat(name);
    if (info.size > MAX_FILE_BYTES) {
      problems.push({ source: name, message: `file is ${(info.size / 1024 / 1024).toFixed(1)} MiB, larger than the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit` });
      return undefined;
    }
    closeSync(openSync(name, 'r'));
  } catch (err) {
    problems.push(cannotRead(name, err));
    return undefined;
  }
  return { name };
}

/** The whole text of a file (what `fix` rewrites), read on first need. */
export function wholeText(file: SourceFile): string {
  file.text ??= readFileSync(file.name, 'utf8');
  return file.text;
}

interface Piece {
  text: string;
  /** Offset of the piece in the file's text, and the line it starts on. */
  start: number;
  line: number;
}

/** Bytes read from disk at a time while streaming a file. */
const READ_BLOCK = 256 * 1024;
// A `---` line that starts a document, found from the newline before it; the character after it
// must be in hand to know, so a block that ends in the middle of one waits for the next.
const NEXT_MARKER = /\n---[ \t\r\n]/g;

/** Text read from a file a block at a time, handed on in pieces that each end where a `---` line starts. */
function* streamedPieces(name: string): Generator<string> {
  const fd = openSync(name, 'r');
  try {
    const decoder = new StringDecoder('utf8');
    const block = Buffer.allocUnsafe(READ_BLOCK);
    let pending = '';
    for (let n = readSync(fd, block, 0, READ_BLOCK, null); n > 0; n = readSync(fd, block, 0, READ_BLOCK, null)) {
      pending += decoder.write(block.subarray(0, n));
      let cut = 0;
      NEXT_MARKER.lastIndex = 0;
      for (let m = NEXT_MARKER.exec(pending); m; m = NEXT_MARKER.exec(pending)) {
        yield pending.slice(cut, m.index + 1);
        cut = m.index + 1;
        NEXT_MARKER.lastIndex = cut;
      }
      pending = pending.slice(cut);
    }
    yield pending + decoder.end();
  } finally {
    closeSync(fd);
  }
}

/**
 * A file's text in pieces that each start at a `---` line (the first at the file's start), so that
 * one document is parsed at a time and a file is never held whole while it is scanned.
 */
function* pieces(file: SourceFile): Generator<Piece> {
  let start = 0;
  let line = 1;
  const texts = file.text === undefined ? streamedPieces(file.name) : [file.text];
  for (const text of texts) {
    // A streamed piece may still hold a marker at its very end, which only the end of the file shows.
    const starts = chunkStarts(text);
    for (let c = 0; c < starts.length; c++) {
      const piece = text.slice(starts[c], starts[c + 1] ?? text.length);
      yield { text: piece, start, line };
      start += piece.length;
      for (let i = piece.indexOf('\n'); i !== -1; i = piece.indexOf('\n', i + 1)) line++;
    }
  }
}

/** The document's objects; a List contributes its items. Problems are collected. */
function located(entry: Omit<SourceDocument, 'objects'>, problems: InputProblem[]): SourceDocument | undefined {
  const { file, value, line } = entry;
  if (value === null || value === undefined) return undefined; // an empty document
  if (!isObject(value)) {
    problems.push({ source: `${file.name}:${line}`, message: 'document is not a mapping (expected a Kubernetes object)' });
    return undefined;
  }
  const doc: SourceDocument = { file: entry.file, line: entry.line, value: entry.value, positions: entry.positions, objects: [] };
  if (value.kind === 'List' || (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items))) {
    const items = Array.isArray(value.items) ? value.items : [];
    items.forEach((item, i) => {
      if (!isObject(item)) {
        problems.push({ source: `${file.name}:${lineOf(doc, ['items', i])}`, message: `items[${i}] is not a mapping` });
        return;
      }
      doc.objects.push({ object: item as KubeObject, base: ['items', i], line: lineOf(doc, ['items', i]) });
    });
  } else {
    doc.objects.push({ object: value as KubeObject, base: [], line });
  }
  return doc;
}

/**
 * The documents of a file, read with positions throughout (what `fix` rewrites, and the fallback
 * that names the line of a YAML error while still reading the file's other documents).
 */
export function positionedDocuments(file: SourceFile, problems: InputProblem[], piece?: { text: string; start: number; lineBase: number }): SourceDocument[] {
  piece ??= { text: wholeText(file), start: 0, lineBase: 0 };
  const out: SourceDocument[] = [];
  for (const positions of positionedPiece(piece.text, piece.start, piece.lineBase)) {
    const { doc, lines, lineBase } = positions;
    const read = readPositioned(doc, lines);
    if ('problem' in read) {
      problems.push({ source: `${file.name}:${lineBase + read.line}`, message: `invalid YAML: ${read.problem.split('\n')[0]}` });
      continue;
    }
    const line = lineBase + lines.linePos(doc.contents?.range?.[0] ?? doc.range[0]).line;
    const entry = located({ file, line, value: read.value, positions: () => positions }, problems);
    if (entry) out.push(entry);
  }
  return out;
}

export interface ReadOptions {
  /** Skip documents whose text does not contain this (a pre-filter; a skipped document may still hold it escaped). */
  mentioning?: string;
}

/** Counts lines forward through a text, for offsets that only grow. */
class LineTracker {
  private at = 0;
  constructor(
    private readonly text: string,
    private line: number,
  ) {}
  lineAt(offset: number): number {
    for (let i = this.text.indexOf('\n', this.at); i !== -1 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      this.line++;
      this.at = i + 1;
    }
    return this.line;
  }
}

/**
 * The documents of a file one at a time, by the fast reader, one `---` piece of the file at a
 * time. A piece the fast reader refuses is read again with positions, so its problems name their
 * lines and the rest of the file still counts.
 */
export function* documents(file: SourceFile, problems: InputProblem[], options: ReadOptions = {}): Generator<SourceDocument> {
  try {
    for (const piece of pieces(file)) {
      const { text, start, line: pieceLine } = piece;
      if (options.mentioning && !text.includes(options.mentioning) && !text.includes('\\')) continue;
      let parsed: { value: unknown; offset: number }[];
      try {
        parsed = documentsOf(text, 0);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        yield* positionedDocuments(file, problems, { text, start, lineBase: pieceLine - 1 });
        continue;
      }
      const tracker = new LineTracker(text, pieceLine);
      let positioned: PositionedDocument[] | undefined;
      for (let index = 0; index < parsed.length; index++) {
        const { value, offset } = parsed[index];
        const line = tracker.lineAt(offset);
        const positions = (): PositionedDocument => {
          positioned ??= positionedPiece(text, start, pieceLine - 1);
          return positioned[index];
        };
        const entry = located({ file, line, value, positions }, problems);
        if (entry) yield entry;
      }
    }
  } catch (err) {
    // A file that became unreadable after it was opened for the first time.
    if (!(err as NodeJS.ErrnoException).code) throw err;
    problems.push(cannotRead(file.name, err));
  }
}

/** A piece of a file parsed with positions; offsets and lines count from the file's start. */
function positionedPiece(text: string, start: number, lineBase: number): PositionedDocument[] {
  const lines = new (yaml().LineCounter)();
  let previousEnd = 0;
  return parseKubeDocuments(text, lines).map((doc) => {
    const p = { doc, lines, lineBase, start: start + previousEnd, end: start + doc.range[2] };
    previousEnd = doc.range[2];
    return p;
  });
}

/** The line of the deepest node on a value path that the document holds (a missing field points at its parent). */
export function lineOf(entry: SourceDocument, path: readonly Segment[]): number {
  const { doc, lines, lineBase } = entry.positions();
  for (let depth = path.length; depth >= 0; depth--) {
    const node = nodeAt(doc, path.slice(0, depth));
    if (node?.range) return lineBase + lines.linePos(node.range[0]).line;
  }
  return entry.line;
}
