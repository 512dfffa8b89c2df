// The fast YAML reader for judging: js-yaml's event parser, with values built by kubectl's rules
// (kube-rules.ts). It keeps no positions beyond where each document starts, so it costs a fraction
// of the position-keeping `yaml` parser; `fix` and line lookups use that one (document.ts).
// A stream is cut at its `---` lines (a document marker cannot occur inside a YAML node), so one
// document is parsed at a time and memory does not grow with the number of documents.
import { EVENT_ID, SCALAR_STYLE, getScalarValue, parseEvents, type Event, type ScalarEvent } from 'js-yaml';
import { ALIAS_COPY_LIMIT, AliasBudget, CORE, KubeYamlError, MERGE_KEY, MappingBuilder, keyString, resolvePlain, resolveTagged } from './kube-rules.js';

const DOCUMENT_MARKER = /^---(?=[ \t\r\n]|$)/gm;

/** Start offsets of the pieces of a stream, each beginning at a `---` line (the first at 0). */
export function chunkStarts(text: string): number[] {
  const starts = [0];
  DOCUMENT_MARKER.lastIndex = 0;
  for (let m = DOCUMENT_MARKER.exec(text); m; m = DOCUMENT_MARKER.exec(text)) if (m.index > 0) starts.push(m.index);
  return starts;
}

const NO_RANGE = -1;

function fullTag(raw: string): string {
  if (raw.startsWith('!<') && raw.endsWith('>')) return raw.slice(2, -1);
  if (raw.startsWith('!!')) return CORE + raw.slice(2);
  return raw;
}

type Frame =
  | { kind: 'document'; value: unknown }
  | { kind: 'sequence'; value: unknown[]; anchor: string | undefined }
  | { kind: 'mapping'; builder: MappingBuilder; anchor: string | undefined; key: unknown; hasKey: boolean; keyIsMerge: boolean; keyOffset: number };

function eventOffset(event: Event): number {
  if ('tagStart' in event && event.tagStart !== NO_RANGE) return event.tagStart;
  if ('anchorStart' in event && event.anchorStart !== NO_RANGE) return event.anchorStart;
  if ('valueStart' in event && event.valueStart !== NO_RANGE) return event.valueStart;
  if ('start' in event) return event.start;
  return 0;
}

function scalarValue(source: string, event: ScalarEvent, base: number): unknown {
  const text = getScalarValue(source, event);
  if (event.tagStart !== NO_RANGE) return resolveTagged(fullTag(source.slice(event.tagStart, event.tagEnd)), text, base + event.tagStart);
  return event.style === SCALAR_STYLE.PLAIN ? resolvePlain(text) : text;
}

/**
 * The documents of one piece of a stream (`base` is its offset in the whole text), each with the
 * offset of its first node. Throws js-yaml's YAMLException or KubeYamlError on the first problem.
 */
export function documentsOf(source: string, base: number): { value: unknown; offset: number }[] {
  const events = parseEvents(source, { maxDepth: 100 });
  const out: { value: unknown; offset: number }[] = [];
  const frames: Frame[] = [];
  let anchors = new Map<string, unknown>();
  let budget = new AliasBudget(ALIAS_COPY_LIMIT);
  let docOffset = -1;

  const add = (value: unknown, offset: number, isMergeKey: boolean): void => {
    const frame = frames[frames.length - 1];
    if (frame.kind === 'document') frame.value = value;
    else if (frame.kind === 'sequence') frame.value.push(value);
    else if (!frame.hasKey) {
      frame.key = value;
      frame.hasKey = true;
      frame.keyIsMerge = isMergeKey;
      frame.keyOffset = offset;
    } else {
      frame.hasKey = false;
      if (frame.keyIsMerge) frame.builder.merge(value, frame.keyOffset);
      else frame.builder.set(keyString(frame.key, frame.keyOffset), value, frame.keyOffset);
    }
  };
  const anchorOf = (event: { anchorStart: number; anchorEnd: number }): string | undefined =>
    event.anchorStart === NO_RANGE ? undefined : source.slice(event.anchorStart, event.anchorEnd);

  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        frames.push({ kind: 'document', value: null });
        anchors = new Map();
        budget = new AliasBudget(ALIAS_COPY_LIMIT);
        docOffset = -1;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        if (docOffset < 0) docOffset = eventOffset(event);
        const anchor = anchorOf(event);
        frames.push(
          event.type === EVENT_ID.MAPPING
            ? { kind: 'mapping', builder: new MappingBuilder(), anchor, key: undefined, hasKey: false, keyIsMerge: false, keyOffset: 0 }
            : { kind: 'sequence', value: [], anchor },
        );
        break;
      }
      case EVENT_ID.SCALAR: {
        const offset = eventOffset(event);
        if (docOffset < 0) docOffset = offset;
        const value = scalarValue(source, event, base);
        const anchor = anchorOf(event);
        if (anchor !== undefined) anchors.set(anchor, value);
        const plainMerge = event.style === SCALAR_STYLE.PLAIN && event.tagStart === NO_RANGE && value === MERGE_KEY;
        add(value, base + offset, plainMerge);
        break;
      }
      case EVENT_ID.ALIAS: {
        const offset = eventOffset(event);
        if (docOffset < 0) docOffset = offset;
        const name = source.slice(event.anchorStart, event.anchorEnd);
        if (!anchors.has(name)) throw new KubeYamlError(`alias *${name} names no anchor before it`, base + offset);
        add(budget.copy(anchors.get(name), base + offset), base + offset, false);
        break;
      }
      case EVENT_ID.POP: {
        const frame = frames.pop()!;
        if (frame.kind === 'document') {
          out.push({ value: frame.value, offset: base + (docOffset < 0 ? 0 : docOffset) });
          break;
        }
        if (frame.kind === 'mapping' && frame.hasKey) throw new KubeYamlError('mapping key without a value', base);
        const value = frame.kind === 'mapping' ? frame.builder.value : frame.value;
        if (frame.anchor !== undefined) anchors.set(frame.anchor, value);
        add(value, base, false);
        break;
      }
    }
  }
  return out;
}

/** Whether documentsOf refused its text (not YAML, or what kube-rules refuses), rather than failed. */
export function isRefusal(err: unknown): boolean {
  return err instanceof KubeYamlError || (err as Error | undefined)?.name === 'YAMLException';
}

/** Every document of a YAML stream as kubectl reads it (null for an empty one). Throws on invalid YAML. */
export function readKubeYaml(text: string): unknown[] {
  const starts = chunkStarts(text);
  return starts.flatMap((start, i) => documentsOf(text.slice(start, starts[i + 1] ?? text.length), start).map((d) => d.value));
}
