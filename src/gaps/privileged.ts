/**
 * privileged: the boundary between the container and the host is switched off, by the privileged
 * flag itself or by the host namespaces and settings that dissolve the same boundary.
 *
 * Fields read:
 *   spec.hostPID, spec.hostIPC, spec.os.name
 *   spec.securityContext.windowsOptions.hostProcess
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation
 *   spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
 *   spec.volumes[*].name, spec.volumes[*].hostPath.path
 *   spec.{initContainers,containers,ephemeralContainers}[*].volumeMounts[*].name, .readOnly
 *
 * Rules:
 *   privileged/privileged-container  critical  securityContext.privileged: true
 *   privileged/host-pid              high      spec.hostPID: true
 *   privileged/host-ipc              high      spec.hostIPC: true
 *   privileged/host-process          critical  Windows hostProcess: true in effect (the container's setting overrides the pod's)
 *   privileged/proc-mount            high      procMount other than Default (Unmasked)
 *   privileged/escalation            medium    allowPrivilegeEscalation not explicitly false (Linux only)
 *   privileged/host-path             critical  a hostPath that hands over the node (node-host-paths.ts): its
 *                                              credentials and configuration, kernel interfaces, runtime state
 *                                              or logs, or a directory above them; high for writable logs, and
 *                                              only a warning (medium) for logs every container mounts read-only
 *
 * Fix (escalation only): allowPrivilegeEscalation: false where unset. An explicit true is never
 * flipped, and a privileged or SYS_ADMIN container gets no fix: the API server rejects
 * allowPrivilegeEscalation: false combined with either.
 */
import type { CheckFinding, GapCheck } from '../engine/types.js';
import type { ContainerRef, PodTarget, SecurityContext } from '../workloads/types.js';
import { mountedBy, volumeMounters } from '../workloads/host-path.js';
import { addedCapabilities } from './capabilities.js';
import { nodePathExposure, nodePathRemediation } from './node-host-paths.js';

const PRIVILEGED_CONTAINER = 'privileged/privileged-container';
const HOST_PID = 'privileged/host-pid';
const HOST_IPC = 'privileged/host-ipc';
const HOST_PROCESS = 'privileged/host-process';
const PROC_MOUNT = 'privileged/proc-mount';
const ESCALATION = 'privileged/escalation';
const HOST_PATH = 'privileged/host-path';

/** The capabilities `privileged` most often stands in for, and what each one allows. */
const COMMON_CAPABILITIES: readonly (readonly [name: string, use: string])[] = [
  ['NET_ADMIN', 'configure interfaces, routes or iptables'],
  ['NET_BIND_SERVICE', 'bind ports below 1024'],
  ['NET_RAW', 'ping or capture packets'],
  ['SYS_TIME', 'set the clock'],
  ['SYS_PTRACE', 'debug other processes'],
  ['IPC_LOCK', 'lock memory'],
];

const GRANT_ONE_CAPABILITY =
  'grant only the capability it needs via securityContext.capabilities.add instead ' +
  `(${COMMON_CAPABILITIES.map(([name]) => name).join(', ')}, ...)`;

const CAPABILITY_USES =
  `Common ones: ${COMMON_CAPABILITIES.map(([name, use]) => `${name} to ${use}`).join(', ')}. ` +
  'The error the container prints when it runs without privileged names what it lacks.';

function containerFinding(ref: ContainerRef, rule: string, severity: CheckFinding['severity'], field: string[], message: string, remediation: string): CheckFinding {
  return {
    gap: 'privileged',
    rule,
    severity,
    path: [...ref.path, 'securityContext', ...field],
    message,
    remediation,
    container: ref,
  };
}

function hostNamespaceFindings(pod: PodTarget, findings: CheckFinding[]): void {
  if (pod.spec.hostPID === true) {
    findings.push({
      gap: 'privileged',
      rule: HOST_PID,
      severity: 'high',
      path: [...pod.specPath, 'hostPID'],
      message:
        "The pod shares the host's process namespace (spec.hostPID: true): its containers see and can signal every process on the node " +
        'and read their environment and files through /proc.',
      remediation:
        'Remove hostPID. To share processes between the containers of this pod use shareProcessNamespace: true; ' +
        'to debug a node use kubectl debug node/<name>.',
    });
  }
  if (pod.spec.hostIPC === true) {
    findings.push({
      gap: 'privileged',
      rule: HOST_IPC,
      severity: 'high',
      path: [...pod.specPath, 'hostIPC'],
      message:
        "The pod shares the host's IPC namespace (spec.hostIPC: true): its containers can read and write the shared memory " +
        'and message queues of every process on the node.',
      remediation: 'Remove hostIPC; the containers of one pod already share an IPC namespace with each other.',
    });
  }
}

function hostProcessFinding(pod: PodTarget, ref: ContainerRef, findings: CheckFinding[]): void {
  const own = ref.container.securityContext?.windowsOptions?.hostProcess;
  const effective = own ?? pod.spec.securityContext?.windowsOptions?.hostProcess;
  if (effective !== true) return;
  const setOnContainer = own != null;
  findings.push({
    gap: 'privileged',
    rule: HOST_PROCESS,
    severity: 'critical',
    path: setOnContainer
      ? [...ref.path, 'securityContext', 'windowsOptions', 'hostProcess']
      : [...pod.specPath, 'securityContext', 'windowsOptions', 'hostProcess'],
    message:
      `Container "${ref.name}" runs as a Windows HostProcess container (windowsOptions.hostProcess: true, set on the ` +
      `${setOnContainer ? 'container' : 'pod'}): it runs directly on the node with the node's privileges, outside any container isolation.`,
    remediation:
      'Remove hostProcess and give the container only the access it needs (a volume, a service account, a port). ' +
      'If it is a node agent that must run on the host, exempt it in the central policy with a reason.',
    container: ref,
  });
}

function escalationFinding(ref: ContainerRef, sc: SecurityContext | null | undefined, findings: CheckFinding[]): void {
  const allow = sc?.allowPrivilegeEscalation;
  if (allow === false) return;
  const explicit = allow === true;
  // The API server rejects allowPrivilegeEscalation: false next to privileged or CAP_SYS_ADMIN.
  const blockedBy = sc?.privileged === true ? 'privileged: true' : addedCapabilities(sc).includes('SYS_ADMIN') ? 'the SYS_ADMIN capability' : undefined;
  const path = ['allowPrivilegeEscalation'];
  const message =
    `Container "${ref.name}" ${explicit ? 'sets allowPrivilegeEscalation: true' : 'does not set allowPrivilegeEscalation: false'}: ` +
    'a setuid binary or a file capability can give its processes more privileges than they started with.';
  let remediation: string;
  if (explicit) {
    remediation = 'Set allowPrivilegeEscalation: false unless the container really runs setuid programs such as sudo; gapguard never flips an explicit true.';
  } else if (blockedBy) {
    remediation = `Remove ${blockedBy} first (Kubernetes rejects allowPrivilegeEscalation: false next to it), then set allowPrivilegeEscalation: false.`;
  } else {
    remediation = 'Set securityContext.allowPrivilegeEscalation: false (gapguard fix adds it).';
  }
  const finding = containerFinding(ref, ESCALATION, 'medium', path, message, remediation);
  if (!explicit && !blockedBy) {
    finding.fix = [{ op: 'set-if-absent', path: finding.path, value: false }];
  }
  findings.push(finding);
}

function containerFindings(pod: PodTarget, ref: ContainerRef, findings: CheckFinding[]): void {
  const sc = ref.container.securityContext;
  if (sc?.privileged === true) {
    findings.push(
      containerFinding(
        ref,
        PRIVILEGED_CONTAINER,
        'critical',
        ['privileged'],
        `Container "${ref.name}" runs privileged (securityContext.privileged: true): it holds every capability and the host's devices, ` +
          `so escaping to the node is trivial; ${GRANT_ONE_CAPABILITY}.`,
        `Remove privileged: true and ${GRANT_ONE_CAPABILITY}. ${CAPABILITY_USES}`,
      ),
    );
  }
  const procMount = sc?.procMount;
  if (typeof procMount === 'string' && procMount !== 'Default') {
    findings.push(
      containerFinding(
        ref,
        PROC_MOUNT,
        'high',
        ['procMount'],
        `Container "${ref.name}" sets procMount: ${JSON.stringify(procMount)}: /proc is mounted without the masks that hide ` +
          'kernel interfaces such as /proc/sys and /proc/sysrq-trigger from the container.',
        'Remove procMount (the Default masks those paths); Unmasked is only for nested container runtimes in user-namespaced pods.',
      ),
    );
  }
  hostProcessFinding(pod, ref, findings);
  // allowPrivilegeEscalation is a Linux field; Kubernetes ignores it on Windows pods.
  if (!pod.windows) escalationFinding(ref, sc, findings);
}

function hostPathFindings(pod: PodTarget, findings: CheckFinding[]): void {
  const volumes = pod.spec.volumes ?? [];
  let mounters: ReturnType<typeof volumeMounters> | undefined;
  for (let i = 0; i < volumes.length; i++) {
    const volume = volumes[i];
    const raw = volume?.hostPath?.path;
    if (typeof raw !== 'string') continue;
    const exposure = nodePathExposure(raw);
    if (!exposure) continue;
    const mounted = (mounters ??= volumeMounters(pod))(volume!.name);
    const { containers, readOnly } = mounted;
    // Reading logs is what log shippers do; writing them lets a container plant symlinks the kubelet follows.
    const logReader = exposure.kind === 'logs' && readOnly;
    const who = mountedBy(mounted, { sayReadOnly: true });
    const finding: CheckFinding = {
      gap: 'privileged',
      rule: HOST_PATH,
      severity: logReader ? 'medium' : exposure.kind === 'logs' ? 'high' : 'critical',
      path: [...pod.specPath, 'volumes', i, 'hostPath', 'path'],
      message:
        `Volume "${volume!.name ?? i}" (hostPath ${JSON.stringify(raw)}) is ${exposure.what}, ${who}: ` +
        (logReader
          ? 'it can read every container\'s logs on the node, and whatever secrets they print.'
          : 'like privileged: true, it dissolves the boundary between the container and the node.'),
      remediation: nodePathRemediation(exposure.kind),
      // An exemption by image can only cover the finding when a single container holds the path.
      ...(containers.length === 1 ? { container: containers[0] } : {}),
    };
    if (logReader) finding.warnOnly = true;
    findings.push(finding);
  }
}

export const privileged: GapCheck = {
  gap: 'privileged',
  rules: [PRIVILEGED_CONTAINER, HOST_PID, HOST_IPC, HOST_PROCESS, PROC_MOUNT, ESCALATION, HOST_PATH],
  check(pod) {
    const findings: CheckFinding[] = [];
    hostNamespaceFindings(pod, findings);
    hostPathFindings(pod, findings);
    for (const ref of pod.containers) containerFindings(pod, ref, findings);
    return findings;
  },
};
