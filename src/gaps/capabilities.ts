// Linux capability names as pod specs spell them. Kubernetes passes them to the runtime as written,
// and runtimes differ in how they read case and the `CAP_` prefix, so `SYS_ADMIN`, `sys_admin` and
// `CAP_SYS_ADMIN` must all count as the same capability: names are compared only after
// normalising (upper case, no `CAP_` prefix). Shared by run-as-root, which judges added
// capabilities, and privileged, whose fix depends on them.
import type { SecurityContext } from '../workloads/types.js';

/** `cap_sys_admin` -> `SYS_ADMIN`. */
export function capabilityName(raw: string): string {
  const upper = raw.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/** The capabilities a container adds, normalised; non-string items (YAML nulls) are ignored. */
export function addedCapabilities(sc: SecurityContext | null | undefined): string[] {
  const add = sc?.capabilities?.add;
  if (!add) return [];
  const out: string[] = [];
  for (const raw of add) if (typeof raw === 'string') out.push(capabilityName(raw));
  return out;
}

/** Whether capabilities.drop holds ALL, in any case (the runtimes compare it case-insensitively). */
export function dropsAllCapabilities(sc: SecurityContext | null | undefined): boolean {
  const drop = sc?.capabilities?.drop;
  return !!drop && drop.some((raw) => typeof raw === 'string' && raw.trim().toUpperCase() === 'ALL');
}

/**
 * Capabilities that each open a known way out of the container or into other workloads: kernel
 * modules, mounts, raw devices, tracing other processes, reading any file, reprogramming the
 * network or the kernel through BPF. `ALL` grants every one of them.
 */
export const DANGEROUS_CAPABILITIES: ReadonlySet<string> = new Set([
  'ALL',
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_BOOT',
  'SYS_TIME',
  'NET_ADMIN',
  'NET_RAW',
  'DAC_READ_SEARCH',
  'DAC_OVERRIDE',
  'BPF',
  'PERFMON',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'SYSLOG',
  'CHECKPOINT_RESTORE',
]);
