// The policy file the server enforces, and its reloads. A reload must never put a policy in force
// that nobody meant: an editor or `kubectl cp` caught mid-write leaves a shorter file that may
// still parse (and allow what the whole file denies). So a change is read again and again until
// two reads a moment apart agree, an empty document is refused (policy/load.ts), and the content
// hash of what is in force goes to the log, /readyz and a metric, so that an operator can tell
// which version of the file is enforced. Anything refused leaves the last good policy in force.
import { createHash } from 'node:crypto';
import { defaultPolicy, parsePolicy, PolicyError, readPolicyText } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** How long a changed file must stay the same before it is read as meant. */
const STABLE_FOR_MS = 200;
/** Reads of a file that keeps changing before the reload is refused (about 4 s). */
const MAX_READS = 20;

/** What a policy is compiled from: a file's text (key files are read relative to it), or the embedded default. */
export type PolicySource = { readonly file: string; readonly text: string } | undefined;

/** The policy of a source, as this module compiles it; throws PolicyError. */
export function compilePolicy(source: PolicySource): Policy {
  return source ? parsePolicy(source.text, source.file) : defaultPolicy();
}

export interface PolicyInForce {
  readonly policy: Policy;
  /** What it was compiled from, for another thread to compile the same policy (the background audit's). */
  readonly source: PolicySource;
  /** sha256 of the file's text, 16 hex digits; "embedded" for the embedded default. */
  readonly hash: string;
  readonly loadedAt: Date;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The file's text once two reads STABLE_FOR_MS apart agree. Throws PolicyError. */
async function readSettled(file: string): Promise<string> {
  const read = (): string | PolicyError => {
    try {
      return readPolicyText(file);
    } catch (err) {
      // Missing for a moment while a ConfigMap's symlink is swapped: read again.
      return err as PolicyError;
    }
  };
  let previous = read();
  for (let i = 1; i < MAX_READS; i++) {
    await sleep(STABLE_FOR_MS);
    const now = read();
    if (now === previous || (now instanceof PolicyError && previous instanceof PolicyError && now.message === previous.message)) {
      if (now instanceof PolicyError) throw now;
      return now;
    }
    previous = now;
  }
  throw new PolicyError(file, '', undefined, `the file kept changing for ${(MAX_READS * STABLE_FOR_MS) / 1000} s`);
}

export class PolicyFile {
  private current: PolicyInForce;
  private reloading: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  /** Loads the file now (throws PolicyError), or the embedded default without one. */
  constructor(
    readonly file: string | undefined,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /** Told of every policy a reload puts in force. */
    private readonly onReload: (inForce: PolicyInForce) => void = () => {},
  ) {
    const source = file === undefined ? undefined : { file, text: readPolicyText(file) };
    this.current = { policy: compilePolicy(source), source, hash: source ? hashOf(source.text) : 'embedded', loadedAt: new Date() };
    metrics.policyInForce(this.current.hash);
  }

  get inForce(): PolicyInForce {
    return this.current;
  }

  /** Called on every change of the file; reloads run one at a time, and once more after the last change. */
  changed(): void {
    if (this.reloading) {
      this.again = true;
      return;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reload();
      } while (this.again && !this.stopped);
    })().finally(() => (this.reloading = undefined));
  }

  stop(): void {
    this.stopped = true;
  }

  private async reload(): Promise<void> {
    const file = this.file!;
    let hash: string | undefined;
    try {
      const text = await readSettled(file);
      if (this.stopped) return;
      hash = hashOf(text);
      if (hash === this.current.hash) return;
      const source = { file, text };
      this.current = { policy: compilePolicy(source), source, hash, loadedAt: new Date() };
      this.onReload(this.current);
      this.metrics.policyReload('success');
      this.metrics.policyInForce(hash);
      this.logger.info('policy reloaded', { policyFile: file, sha256: hash });
    } catch (err) {
      if (this.stopped) return;
      this.metrics.policyReload('failure');
      this.logger.error('policy reload refused; the last good policy stays in force', {
        policyFile: file,
        error: (err as Error).message,
        refusedSha256: hash,
        sha256: this.current.hash,
      });
    }
  }
}
