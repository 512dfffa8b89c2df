// privileged through the engine: the privileged flag, host namespaces, Windows HostProcess with the
// container overriding the pod, unmasked /proc, and allowPrivilegeEscalation with its careful fix.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { makeContext } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, summary, theFinding, valueAt, withFixes } from './gap-fixtures.js';

const PRIVILEGED = 'privileged/privileged-container';
const ESCALATION = 'privileged/escalation';
const HOST_PROCESS = 'privileged/host-process';
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
});
