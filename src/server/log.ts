// Structured logs: one JSON object per line on stderr, so that stdout stays free for what a person
// runs the command to see. Callers pass identifiers, decisions and rule ids, never object content:
// a pod spec can hold a secret, so no log line carries one.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, string | number | boolean | string[] | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

/**
 * Writes to stderr once per turn of the event loop: a busy webhook logs a line for most answers,
 * and stderr writes to a pipe or file are synchronous system calls. Lines still pending when the
 * process exits are written then.
 */
export function batchedStderr(): (line: string) => void {
  let pending = '';
  const flush = (): void => {
    const text = pending;
    pending = '';
    if (text) process.stderr.write(text);
  };
  process.once('exit', flush);
  return (line) => {
    if (!pending) setImmediate(flush);
    pending += line;
  };
}

let isoMs = NaN;
let iso = '';
/** The time as `new Date().toISOString()` writes it, made once per millisecond: a busy webhook logs several lines in one. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

export function createLogger(level: LogLevel, write: (line: string) => void = batchedStderr()): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel) => {
    // The line as JSON.stringify({ time, level, msg, ...fields }) writes it, without building the merged object.
    const head = `,"level":${JSON.stringify(at)},"msg":`;
    return (msg: string, fields?: LogFields) => {
      if (LOG_LEVELS.indexOf(at) < threshold) return;
      const rest = fields ? JSON.stringify(fields) : '{}';
      write(`{"time":"${isoNow()}"${head}${JSON.stringify(msg)}${rest === '{}' ? '' : `,${rest.slice(1, -1)}`}}\n`);
    };
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    enabled: (at) => LOG_LEVELS.indexOf(at) >= threshold,
  };
}
