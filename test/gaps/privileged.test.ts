// privileged through the engine: the privileged flag, host namespaces, Windows HostProcess with the
// container overriding the pod, unmasked /proc, allowPrivilegeEscalation with its careful fix, and
// host paths that hand over the node, with their near misses.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { makeContext, policyWith } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, summary, theFinding, valueAt, withFixes } from './gap-fixtures.js';

const PRIVILEGED = 'privileged/privileged-container';
const ESCALATION = 'privileged/escalation';
const HOST_PROCESS = 'privileged/host-process';
const HOST_PATH = 'privileged/host-path';
const hostPaths = (spec: string, count: number) => Array.from({ length: count }, (_, i) => `${HOST_PATH} @ ${spec}.volumes[${i}].hostPath.path`);
const escalation = (container: string) => `${ESCALATION} @ ${container}.securityContext.allowPrivilegeEscalation`;

describeFixtures('privileged', {
  'network-agent': [`${PRIVILEGED} @ spec.template.spec.containers[0].securityContext.privileged`, escalation('spec.template.spec.containers[0]')],
  'sysctl-init': [`${PRIVILEGED} @ spec.initContainers[0].securityContext.privileged`, escalation('spec.initContainers[0]')],
  debugged: [`${PRIVILEGED} @ spec.ephemeralContainers[0].securityContext.privileged`, escalation('spec.ephemeralContainers[0]')],
  'process-exporter': ['privileged/host-pid @ spec.template.spec.hostPID'],
  'shm-cache': ['privileged/host-ipc @ spec.template.spec.hostIPC'],
  'win-node-setup': [`${HOST_PROCESS} @ spec.securityContext.windowsOptions.hostProcess`, `${HOST_PROCESS} @ spec.securityContext.windowsOptions.hostProcess`],
  'win-mixed': [`${HOST_PROCESS} @ spec.template.spec.containers[0].securityContext.windowsOptions.hostProcess`],
  'win-override': [`${HOST_PROCESS} @ template.spec.securityContext.windowsOptions.hostProcess`],
  'nested-buildah': ['privileged/proc-mount @ spec.template.spec.containers[0].securityContext.procMount'],
  'nightly-report': [escalation('spec.jobTemplate.spec.template.spec.containers[0]')],
  'legacy-sudo': [escalation('spec.template.spec.containers[0]')],
  'init-unset': [escalation('spec.initContainers[0]')],
  'fuse-mounter': [escalation('spec.template.spec.containers[0]')],
  'node-debugger': hostPaths('spec.template.spec', 5),
  'node-metrics': hostPaths('spec.template.spec', 2),
  'log-agents': hostPaths('spec', 3),
  'load-module': hostPaths('spec.template.spec', 4),
  backup: hostPaths('spec.jobTemplate.spec.template.spec', 4),
});

describe('privileged', () => {
  it('denies a privileged container as critical and says which capability to grant instead', () => {
    const f = theFinding(fixture('privileged', 'fail', 'network-agent'), PRIVILEGED);
    expect(f).to.include({ severity: 'critical', action: 'deny', fixable: false });
    expect(f.message).to.include('Container "agent"').and.include('capabilities.add');
    for (const capability of ['NET_ADMIN', 'SYS_TIME', 'SYS_PTRACE']) {
      expect(f.message).to.include(capability);
      expect(f.remediation).to.include(capability);
    }
  });

  it('denies host PID and IPC namespaces as high', () => {
    expect(theFinding(fixture('privileged', 'fail', 'process-exporter'), 'privileged/host-pid')).to.include({ severity: 'high', action: 'deny' });
    const ipc = theFinding(fixture('privileged', 'fail', 'shm-cache'), 'privileged/host-ipc');
    expect(ipc).to.include({ severity: 'high', action: 'deny' });
    expect(ipc.message).to.include('hostIPC: true');
  });

  it('says whether hostProcess comes from the pod or the container', () => {
    const fromPod = findingsOf(fixture('privileged', 'fail', 'win-node-setup'), 'privileged');
    expect(fromPod.map((f) => f.message.match(/^Container "([^"]+)"/)![1])).to.deep.equal(['install', 'agent']);
    expect(fromPod[0]!.message).to.include('set on the pod');
    const fromContainer = theFinding(fixture('privileged', 'fail', 'win-mixed'), HOST_PROCESS);
    expect(fromContainer).to.include({ severity: 'critical', action: 'deny' });
    expect(fromContainer.message).to.include('Container "host-agent"').and.include('set on the container');
  });

  it('denies an unmasked /proc', () => {
    const f = theFinding(fixture('privileged', 'fail', 'nested-buildah'), 'privileged/proc-mount');
    expect(f).to.include({ severity: 'high', action: 'deny', fixable: false });
    expect(f.message).to.include('"Unmasked"');
  });

  it('warns about an unset allowPrivilegeEscalation and fixes it to false', () => {
    const obj = fixture('privileged', 'fail', 'nightly-report');
    const f = theFinding(obj, ESCALATION);
    expect(f).to.include({ severity: 'medium', action: 'warn', fixable: true });
    const fixed = withFixes(obj);
    expect(valueAt(fixed, 'spec.jobTemplate.spec.template.spec.containers[0].securityContext')).to.deep.include({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
    });
    expect(findingsOf(fixed, 'privileged')).to.deep.equal([]);
  });

  it('fixes an init container whose securityContext is empty', () => {
    const fixed = withFixes(fixture('privileged', 'fail', 'init-unset'));
    expect(valueAt(fixed, 'spec.initContainers[0].securityContext.allowPrivilegeEscalation')).to.equal(false);
  });

  it('never flips an explicit true, and offers no fix the API server would reject', () => {
    for (const name of ['legacy-sudo', 'network-agent', 'fuse-mounter']) {
      const obj = fixture('privileged', 'fail', name);
      const f = theFinding(obj, ESCALATION);
      expect(f.fixable, name).to.equal(false);
      expect(JSON.stringify(evaluate(obj, makeContext())!.patch), name).not.to.include('allowPrivilegeEscalation');
    }
    expect(theFinding(fixture('privileged', 'fail', 'legacy-sudo'), ESCALATION).message).to.include('sets allowPrivilegeEscalation: true');
    expect(theFinding(fixture('privileged', 'fail', 'fuse-mounter'), ESCALATION).remediation).to.include('SYS_ADMIN');
  });

  it('skips allowPrivilegeEscalation on Windows pods only', () => {
    const windows = fixture('privileged', 'pass', 'iis');
    expect(findingsOf(windows, 'privileged')).to.deep.equal([]);
    (windows.spec as { os: { name: string } }).os.name = 'linux';
    expect(summary(findingsOf(windows, 'privileged'))).to.deep.equal([escalation('spec.containers[0]')]);
  });

  describe('host-path', () => {
    const messages = (name: string) => findingsOf(fixture('privileged', 'fail', name), 'privileged').filter((f) => f.rule === HOST_PATH);

    it('denies the node\'s credentials, runtime state and root as critical, after normalising the path, naming what each holds', () => {
      const findings = messages('node-debugger');
      for (const f of findings) expect(f).to.include({ severity: 'critical', action: 'deny', fixable: false });
      expect(findings[0]!.message).to.include('(hostPath "/") is the node\'s root directory containing /etc, /root, /home, /proc, ...');
      expect(findings[1]!.message).to.include('is /etc/kubernetes, which holds the kubelet\'s kubeconfig');
      expect(findings[2]!.message).to.include('(hostPath "//var/lib/kubelet/pki") is /var/lib/kubelet/pki, which holds the kubelet\'s client and serving certificates');
      // The deepest listed path decides: /var/lib/kubelet/pods is runtime state, not just kubelet credentials.
      expect(findings[3]!.message).to.include('is /var/lib/kubelet/pods, which holds every pod\'s volumes');
      expect(findings[3]!.remediation).to.include('CSI driver');
      expect(findings[1]!.remediation).to.include('ServiceAccount token (a projected volume)');
      for (const f of findings) expect(f.remediation).to.include('DaemonSet and exempt it in the central policy with a reason');
      expect(findings[0]!.message).to.include('mounted by container "shell"').and.include('dissolves the boundary');
    });

    it('denies kernel interfaces even read-only, and names device plugins and the kubelet\'s APIs instead', () => {
      const findings = messages('node-metrics');
      expect(findings.map((f) => [f.severity, f.action])).to.deep.equal([['critical', 'deny'], ['critical', 'deny']]);
      expect(findings[0]!.message).to.include('mounted read-only by container "exporter"');
      expect(findings[1]!.remediation).to.include('device plugin').and.include("kubelet's APIs");
    });

    it('warns on logs every container mounts read-only, denies writable logs (high), and a single writable mount makes it writable', () => {
      const findings = messages('log-agents');
      expect(findings.map((f) => [f.path.replace(/.*volumes/, ''), f.severity, f.action])).to.deep.equal([
        ['[0].hostPath.path', 'high', 'deny'],
        ['[1].hostPath.path', 'medium', 'warn'],
        ['[2].hostPath.path', 'high', 'deny'],
      ]);
      expect(findings[1]!.message).to.include('a path under /var/log').and.include('read every container\'s logs');
      expect(findings[0]!.remediation).to.include('readOnly: true');
      expect(findings[2]!.message).to.include('container "shipper", container "rotator"');
    });

    it('covers both spellings of the kernel modules, devices, and a volume no container mounts yet', () => {
      const findings = messages('load-module');
      expect(findings[1]!.message).to.include('a path under /usr/lib/modules');
      expect(findings[2]!.message).to.include('is /dev,');
      expect(findings[3]!.message).to.include('is /etc,').and.include('not mounted yet');
    });

    it('counts homes, a path below one, and a directory above the kubelet\'s state', () => {
      const findings = messages('backup');
      expect(findings[1]!.message).to.include('a path under /root');
      expect(findings[2]!.message).to.include('(hostPath "/var") is a host directory containing /var/log, /var/lib/kubelet');
      expect(findings[3]!.message).to.include('etcd\'s data');
    });

    it('leaves runtime sockets to docker-socket, and both fire on a directory above both', () => {
      const obj = fixture('privileged', 'fail', 'node-debugger');
      const result = evaluate(obj, makeContext())!;
      const onRoot = result.findings.filter((f) => f.path === 'spec.template.spec.volumes[0].hostPath.path').map((f) => f.rule);
      expect(onRoot).to.deep.equal(['docker-socket/host-path', HOST_PATH]);
      const spec = (obj.spec as { template: { spec: { volumes: { hostPath: { path: string } }[] } } }).template.spec;
      spec.volumes[0]!.hostPath.path = '/var/run/docker.sock';
      const sockets = evaluate(obj, makeContext())!.findings.filter((f) => f.path === 'spec.template.spec.volumes[0].hostPath.path').map((f) => f.rule);
      expect(sockets).to.deep.equal(['docker-socket/host-path']);
    });

    it('follows the policy: a rule-level warn, or an exemption of the gap for one node agent', () => {
      const warn = makeContext({ policy: policyWith('gaps:\n  privileged:\n    rules:\n      privileged/host-path: { action: warn }\n') });
      expect(findingsOf(fixture('privileged', 'fail', 'node-metrics'), 'privileged', warn).map((f) => f.action)).to.deep.equal(['warn', 'warn']);
      const exempt = makeContext({
        policy: policyWith('exemptions:\n  - match: {namespaces: [monitoring], names: [node-metrics]}\n    gaps: [privileged]\n    reason: reads /proc and /sys for node metrics\n'),
      });
      const result = evaluate(fixture('privileged', 'fail', 'node-metrics'), exempt)!;
      expect(result.findings.filter((f) => f.gap === 'privileged')).to.deep.equal([]);
      expect(result.notes.join()).to.include('reads /proc and /sys');
    });
  });
});
