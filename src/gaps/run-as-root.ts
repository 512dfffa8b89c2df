/**
 * run-as-root: a container whose processes run as root with the default capability set, so that
 * code execution inside it comes with root's files and the capabilities that kernel escapes use.
 *
 * Fields read:
 *   spec.os.name
 *   spec.securityContext.runAsUser, .runAsNonRoot, .seccompProfile.type, .windowsOptions.runAsUserName
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser, .runAsNonRoot,
 *     .windowsOptions.runAsUserName
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add, .drop
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.readOnlyRootFilesystem
 *
 * Rules:
 *   run-as-root/runs-as-root      high         the effective user is root, resolved as the kubelet does
 *   run-as-root/caps-not-dropped  medium       capabilities.drop lacks ALL (Linux only)
 *   run-as-root/caps-added        high/medium  capabilities added beyond policy.runAsRoot.allowedCapabilities;
 *                                              high when one of them is dangerous (Linux only)
 *   run-as-root/writable-root-fs  medium       readOnlyRootFilesystem not true: the seed's attacker installs
 *                                              tools and writes to the container filesystem (Linux only;
 *                                              warn by default)
 *
 * Fix, only where the author set nothing: runAsNonRoot: true on the container when no user setting
 * is in effect (an explicit runAsUser: 0 or runAsNonRoot: false is never flipped); ALL appended to
 * capabilities.drop, keeping what add and drop hold; seccompProfile RuntimeDefault on the container
 * when neither it nor the pod sets a profile (Linux only). caps-added has no fix: which capability
 * the application needs is the author's call. writable-root-fs has a fix the default policy leaves
 * off (readOnlyRootFilesystem: true where unset): an application that writes to its root breaks.
 *
 * A field that is null counts as unset, as Kubernetes reads it (`x != null` below).
 */
import type { CheckFinding, FixIntent, GapCheck } from '../engine/types.js';
import type { Policy } from '../policy/types.js';
import type { ContainerRef, PodSecurityContext, PodTarget, SecurityContext, Segment } from '../workloads/types.js';
import { addedCapabilities, DANGEROUS_CAPABILITIES, dropsAllCapabilities } from './capabilities.js';

const RUNS_AS_ROOT = 'run-as-root/runs-as-root';
const CAPS_NOT_DROPPED = 'run-as-root/caps-not-dropped';
const CAPS_ADDED = 'run-as-root/caps-added';
const WRITABLE_ROOT_FS = 'run-as-root/writable-root-fs';

/** Why the container runs as root, and where the deciding field is (absent: nothing is set). */
interface RootUser {
  reason: string;
  path: Segment[];
  /** No user setting is in effect, so adding runAsNonRoot: true flips no author's choice. */
  unset: boolean;
}

/** A securityContext field of the container (own) or of the pod. */
function fieldPath(pod: PodTarget, ref: ContainerRef, own: boolean, field: string): Segment[] {
  return own ? [...ref.path, 'securityContext', field] : [...pod.specPath, 'securityContext', field];
}

const level = (own: boolean): string => (own ? 'the container' : 'the pod');

/**
 * The kubelet's resolution: a container field overrides the pod's. A runAsUser in effect decides
 * (0 is root even next to runAsNonRoot: true, which then only stops the container from starting);
 * without one, runAsNonRoot: true makes the kubelet refuse a root image user; otherwise the image's
 * USER applies, which gapguard cannot see and must assume is root.
 */
function rootUser(pod: PodTarget, ref: ContainerRef, sc: SecurityContext | null | undefined, podSc: PodSecurityContext | null | undefined): RootUser | undefined {
  if (pod.windows) return windowsRootUser(pod, ref, sc, podSc);
  const ownUser = sc?.runAsUser != null;
  const runAsUser = ownUser ? sc!.runAsUser : podSc?.runAsUser;
  if (runAsUser != null) {
    if (runAsUser !== 0) return undefined;
    return { reason: `runAsUser: 0 is set on ${level(ownUser)}`, path: fieldPath(pod, ref, ownUser, 'runAsUser'), unset: false };
  }
  const ownNonRoot = sc?.runAsNonRoot != null;
  const runAsNonRoot = ownNonRoot ? sc!.runAsNonRoot : podSc?.runAsNonRoot;
  if (runAsNonRoot === true) return undefined;
  if (runAsNonRoot === false) {
    return { reason: `runAsNonRoot: false is set on ${level(ownNonRoot)}`, path: fieldPath(pod, ref, ownNonRoot, 'runAsNonRoot'), unset: false };
  }
  return {
    reason: "neither it nor the pod sets runAsNonRoot: true or a runAsUser above 0, so the image's user applies, root unless the image says otherwise",
    path: fieldPath(pod, ref, true, 'runAsNonRoot'),
    unset: true,
  };
}

/** Windows' administrator account in containers, and its unprivileged one. */
const WINDOWS_ADMINISTRATOR = 'containeradministrator';
const WINDOWS_USER = 'containeruser';

/**
 * On Windows the user is windowsOptions.runAsUserName (the container's over the pod's; runAsUser
 * does not exist there): ContainerAdministrator is root, ContainerUser is not; another account may
 * be an administrator, which only runAsNonRoot: true makes the kubelet check.
 */
function windowsRootUser(pod: PodTarget, ref: ContainerRef, sc: SecurityContext | null | undefined, podSc: PodSecurityContext | null | undefined): RootUser | undefined {
  const ownNonRoot = sc?.runAsNonRoot != null;
  const runAsNonRoot = ownNonRoot ? sc!.runAsNonRoot : podSc?.runAsNonRoot;
  const ownName = sc?.windowsOptions?.runAsUserName != null;
  const userName = ownName ? sc!.windowsOptions!.runAsUserName : podSc?.windowsOptions?.runAsUserName;
  const namePath = [...fieldPath(pod, ref, ownName, 'windowsOptions'), 'runAsUserName'];
  if (userName != null && userName.toLowerCase() === WINDOWS_ADMINISTRATOR) {
    return { reason: `windowsOptions.runAsUserName: ${userName} is set on ${level(ownName)}`, path: namePath, unset: false };
  }
  if (runAsNonRoot === true || userName?.toLowerCase() === WINDOWS_USER) return undefined;
  if (runAsNonRoot === false) {
    return { reason: `runAsNonRoot: false is set on ${level(ownNonRoot)}`, path: fieldPath(pod, ref, ownNonRoot, 'runAsNonRoot'), unset: false };
  }
  const reason =
    userName != null
      ? `windowsOptions.runAsUserName: ${userName} is set on ${level(ownName)}, an account that may be an administrator, and neither it nor the pod sets runAsNonRoot: true to have the kubelet check`
      : "neither it nor the pod sets windowsOptions.runAsUserName or runAsNonRoot: true, so the image's user applies, ContainerAdministrator unless the image says otherwise";
  return { reason, path: fieldPath(pod, ref, true, 'runAsNonRoot'), unset: true };
}

function rootRemediation(root: RootUser, windows: boolean): string {
  if (!root.unset) {
    return windows
      ? 'Run as ContainerUser (windowsOptions.runAsUserName) with runAsNonRoot: true. gapguard never flips an explicit setting.'
      : 'Run as a non-root user: set runAsUser above 0, or runAsNonRoot: true with a non-root USER in the image. gapguard never flips an explicit setting.';
  }
  return windows
    ? 'Run as ContainerUser (windowsOptions.runAsUserName) and set runAsNonRoot: true (gapguard fix adds it; the kubelet then refuses to start the container as ContainerAdministrator).'
    : 'Build the image with a numeric non-root USER and set runAsNonRoot: true (gapguard fix adds it; the kubelet then refuses to start a root image).';
}

/** A fix, plus seccompProfile RuntimeDefault when no profile is set: it rides along with every fix of this gap. */
function withSeccomp(ref: ContainerRef, intent: FixIntent, seccompUnset: boolean): FixIntent[] {
  if (!seccompUnset) return [intent];
  return [intent, { op: 'set-if-absent', path: [...ref.path, 'securityContext', 'seccompProfile', 'type'], value: 'RuntimeDefault' }];
}

function finding(ref: ContainerRef, rule: string, severity: CheckFinding['severity'], path: Segment[], message: string, remediation: string): CheckFinding {
  return { gap: 'run-as-root', rule, severity, path, message, remediation, container: ref };
}

function capsAddedFinding(ref: ContainerRef, sc: SecurityContext | null | undefined, policy: Policy): CheckFinding | undefined {
  const allowed = policy.runAsRoot.allowedCapabilities;
  const extra = addedCapabilities(sc).filter((cap) => !allowed.includes(cap));
  if (!extra.length) return undefined;
  const dangerous = extra.filter((cap) => DANGEROUS_CAPABILITIES.has(cap));
  return finding(
    ref,
    CAPS_ADDED,
    dangerous.length ? 'high' : 'medium',
    [...ref.path, 'securityContext', 'capabilities', 'add'],
    `Container "${ref.name}" adds capabilities beyond the allowed ${allowed.length ? allowed.join(', ') : '(none)'}: ${extra.join(', ')}` +
      (dangerous.length
        ? `; ${dangerous.join(' and ')} ${dangerous.length > 1 ? 'open known routes' : 'opens a known route'} out of the container.`
        : '.'),
    'Add only the capabilities the application uses, next to capabilities.drop: [ALL]. If one is really needed, ' +
      'allow it in gaps.run-as-root.allowedCapabilities of the central policy or exempt the workload with a reason.',
  );
}

function writableRootFinding(ref: ContainerRef, sc: SecurityContext | null | undefined): CheckFinding | undefined {
  const readOnly = sc?.readOnlyRootFilesystem;
  if (readOnly === true) return undefined;
  const path = [...ref.path, 'securityContext', 'readOnlyRootFilesystem'];
  const f = finding(
    ref,
    WRITABLE_ROOT_FS,
    'medium',
    path,
    `Container "${ref.name}" ${readOnly === false ? 'sets readOnlyRootFilesystem: false' : 'does not set readOnlyRootFilesystem: true'}: ` +
      'whoever gets code execution in it can install tools with the package manager and change its files and binaries.',
    'Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir volume at each path the application writes ' +
      '(/tmp, caches, PID or upload directories), e.g. volumes: [{name: tmp, emptyDir: {}}] with volumeMounts: [{name: tmp, mountPath: /tmp}]. ' +
      'gapguard fix sets it only where unset and only when the policy turns the rule\'s fix on.',
  );
  if (readOnly == null) f.fix = [{ op: 'set-if-absent', path, value: true }];
  return f;
}

export const runAsRoot: GapCheck = {
  gap: 'run-as-root',
  rules: [RUNS_AS_ROOT, CAPS_NOT_DROPPED, CAPS_ADDED, WRITABLE_ROOT_FS],
  check(pod, ctx) {
    const findings: CheckFinding[] = [];
    const podSc = pod.spec.securityContext;
    for (const ref of pod.containers) {
      const sc = ref.container.securityContext;
      // Seccomp, like capabilities, is a Linux field.
      const seccompUnset = !pod.windows && sc?.seccompProfile?.type == null && podSc?.seccompProfile?.type == null;

      const root = rootUser(pod, ref, sc, podSc);
      if (root) {
        const f = finding(
          ref,
          RUNS_AS_ROOT,
          'high',
          root.path,
          `Container "${ref.name}" runs as root: ${root.reason}.`,
          rootRemediation(root, pod.windows),
        );
        if (root.unset) f.fix = withSeccomp(ref, { op: 'set-if-absent', path: root.path, value: true }, seccompUnset);
        findings.push(f);
      }
      if (pod.windows) continue; // capabilities are Linux-only

      if (!dropsAllCapabilities(sc)) {
        const drop = [...ref.path, 'securityContext', 'capabilities', 'drop'];
        const f = finding(
          ref,
          CAPS_NOT_DROPPED,
          'medium',
          drop,
          `Container "${ref.name}" keeps the runtime's default capabilities (capabilities.drop does not hold ALL): ` +
            'an exploit inherits capabilities such as CHOWN, DAC_OVERRIDE, SETUID and NET_RAW.',
          'Set capabilities.drop: [ALL] and add back only what the application uses (gapguard fix appends ALL and keeps your add list).',
        );
        f.fix = withSeccomp(ref, { op: 'append', path: drop, value: 'ALL' }, seccompUnset);
        findings.push(f);
      }
      const added = capsAddedFinding(ref, sc, ctx.policy);
      if (added) findings.push(added);
      const writable = writableRootFinding(ref, sc);
      if (writable) findings.push(writable);
    }
    return findings;
  },
};
