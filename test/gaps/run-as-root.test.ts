// run-as-root through the engine: the effective user resolved as the kubelet does, dropped and
// added capabilities in any spelling, Windows pods, a fix that only fills what is unset, and the
// writable root filesystem (a warning, with a fix the default policy leaves off).
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import { makeContext, policyWith } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, summary, theFinding, valueAt, withFixes } from './gap-fixtures.js';

const ROOT = 'run-as-root/runs-as-root';
const NOT_DROPPED = 'run-as-root/caps-not-dropped';
const ADDED = 'run-as-root/caps-added';
const WRITABLE = 'run-as-root/writable-root-fs';
const at = (rule: string, container: string, field: string) => `${rule} @ ${container}.securityContext.${field}`;
const writable = (container: string) => at(WRITABLE, container, 'readOnlyRootFilesystem');
const defaults = (container: string) => [at(ROOT, container, 'runAsNonRoot'), at(NOT_DROPPED, container, 'capabilities.drop'), writable(container)];

describeFixtures('run-as-root', {
  storefront: [
    ...defaults('spec.template.spec.initContainers[0]'),
    ...defaults('spec.template.spec.containers[0]'),
    ...defaults('spec.template.spec.containers[1]'),
  ],
  'pod-uid-zero': [at(ROOT, 'spec.template.spec', 'runAsUser'), writable('spec.template.spec.containers[0]')],
  'container-uid-zero': [at(ROOT, 'spec.template.spec.containers[0]', 'runAsUser'), writable('spec.template.spec.containers[0]')],
  'nonroot-overridden': [
    at(ROOT, 'spec.jobTemplate.spec.template.spec.containers[0]', 'runAsNonRoot'),
    writable('spec.jobTemplate.spec.template.spec.containers[0]'),
  ],
  'pod-says-root': [at(ROOT, 'spec.template.spec', 'runAsNonRoot'), writable('spec.template.spec.containers[0]')],
  'uid-overridden': [at(ROOT, 'spec.template.spec.containers[0]', 'runAsUser'), writable('spec.template.spec.containers[0]')],
  'packet-capture': [at(ADDED, 'spec.template.spec.containers[0]', 'capabilities.add'), writable('spec.template.spec.containers[0]')],
  'chown-helper': [at(ADDED, 'template.spec.containers[0]', 'capabilities.add'), writable('template.spec.containers[0]')],
  'drop-some': [
    at(NOT_DROPPED, 'spec.containers[0]', 'capabilities.drop'),
    at(ADDED, 'spec.containers[0]', 'capabilities.add'),
    writable('spec.containers[0]'),
    at(NOT_DROPPED, 'spec.containers[1]', 'capabilities.drop'),
    writable('spec.containers[1]'),
  ],
  // Windows has no read-only root filesystem: only the user is judged.
  'win-admin': [at(ROOT, 'spec.containers[0]', 'runAsNonRoot')],
  'win-container-administrator': [
    `${ROOT} @ spec.securityContext.windowsOptions.runAsUserName`,
    at(ROOT, 'spec.containers[1]', 'windowsOptions.runAsUserName'),
    at(ROOT, 'spec.containers[2]', 'runAsNonRoot'),
  ],
  'debug-as-root': [
    writable('spec.containers[0]'),
    at(ROOT, 'spec.ephemeralContainers[0]', 'runAsUser'),
    at(NOT_DROPPED, 'spec.ephemeralContainers[0]', 'capabilities.drop'),
    writable('spec.ephemeralContainers[0]'),
  ],
});

describe('run-as-root', () => {
  it('denies root as high and default capabilities as medium, naming the container', () => {
    const obj = fixture('run-as-root', 'fail', 'storefront');
    const [root] = findingsOf(obj, 'run-as-root').filter((f) => f.rule === ROOT);
    expect(root).to.include({ severity: 'high', action: 'deny', fixable: true });
    expect(root!.message).to.include('Container "assets" runs as root');
    const [caps] = findingsOf(obj, 'run-as-root').filter((f) => f.rule === NOT_DROPPED);
    expect(caps).to.include({ severity: 'medium', action: 'deny', fixable: true });
  });

  it('says where an explicit root setting comes from', () => {
    expect(theFinding(fixture('run-as-root', 'fail', 'pod-uid-zero'), ROOT).message).to.include('runAsUser: 0 is set on the pod');
    expect(theFinding(fixture('run-as-root', 'fail', 'uid-overridden'), ROOT).message).to.include('runAsUser: 0 is set on the container');
    expect(theFinding(fixture('run-as-root', 'fail', 'nonroot-overridden'), ROOT).message).to.include('runAsNonRoot: false is set on the container');
  });

  it('rates added capabilities high when one is dangerous, whatever the spelling', () => {
    const capture = theFinding(fixture('run-as-root', 'fail', 'packet-capture'), ADDED);
    expect(capture).to.include({ severity: 'high', action: 'deny', fixable: false });
    expect(capture.message).to.include('NET_RAW, NET_ADMIN').and.not.match(/: .*NET_BIND_SERVICE/);
    const chown = theFinding(fixture('run-as-root', 'fail', 'chown-helper'), ADDED);
    expect(chown).to.include({ severity: 'medium' });
    expect(chown.message).to.include('CHOWN, FOWNER');
    expect(theFinding(fixture('run-as-root', 'fail', 'drop-some'), ADDED)).to.include({ severity: 'high' });
  });

  it('takes the allow-list from the policy, with or without CAP_, in any case', () => {
    const policy = policyWith('gaps:\n  run-as-root:\n    allowedCapabilities: [CAP_CHOWN, fowner]\n');
    expect(summary(findingsOf(fixture('run-as-root', 'fail', 'chown-helper'), 'run-as-root', makeContext({ policy })))).to.deep.equal([writable('template.spec.containers[0]')]);
    // NET_BIND_SERVICE is no longer allowed under this policy.
    const capture = theFinding(fixture('run-as-root', 'fail', 'packet-capture'), ADDED, makeContext({ policy }));
    expect(capture.message).to.include('NET_RAW, NET_ADMIN, NET_BIND_SERVICE');
  });

  it('fixes unset fields only: runAsNonRoot, drop ALL and RuntimeDefault seccomp on each container', () => {
    const fixed = withFixes(fixture('run-as-root', 'fail', 'storefront'));
    for (const container of ['initContainers[0]', 'containers[0]', 'containers[1]']) {
      expect(valueAt(fixed, `spec.template.spec.${container}.securityContext`), container).to.deep.include({
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
    expect(valueAt(fixed, 'spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation')).to.equal(false);
    // Only the writable root filesystem is left: its fix is off by default.
    expect(findingsOf(fixed, 'run-as-root').map((f) => [f.rule, f.action, f.fixable])).to.deep.equal(Array(3).fill([WRITABLE, 'warn', false]));
    expect(valueAt(fixed, 'spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem')).to.equal(undefined);
  });

  it('counts drop: [all] in any case as dropping everything, but not CAP_ALL, which no runtime knows', () => {
    const pod = (drop: string[]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'app', image: 'app', securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop } } }] },
    });
    expect(findingsOf(pod(['all']), 'run-as-root')).to.deep.equal([]);
    expect(summary(findingsOf(pod(['CAP_ALL']), 'run-as-root'))).to.deep.equal([at(NOT_DROPPED, 'spec.containers[0]', 'capabilities.drop')]);
  });

  it('appends ALL to a drop list and keeps the added capabilities', () => {
    const fixed = withFixes(fixture('run-as-root', 'fail', 'drop-some'));
    expect(valueAt(fixed, 'spec.containers[0].securityContext.capabilities')).to.deep.equal({
      drop: ['NET_RAW', 'SYS_ADMIN', 'ALL'],
      add: ['CAP_SYS_ADMIN'],
    });
    expect(valueAt(fixed, 'spec.containers[1].securityContext.capabilities')).to.deep.equal({ drop: ['ALL'] });
    expect(summary(findingsOf(fixed, 'run-as-root'))).to.deep.equal([at(ADDED, 'spec.containers[0]', 'capabilities.add'), writable('spec.containers[0]'), writable('spec.containers[1]')]);
  });

  it('never flips an explicit root user or runAsNonRoot: false', () => {
    for (const name of ['pod-uid-zero', 'container-uid-zero', 'nonroot-overridden', 'pod-says-root', 'uid-overridden', 'debug-as-root']) {
      const obj = fixture('run-as-root', 'fail', name);
      expect(theFinding(obj, ROOT).fixable, name).to.equal(false);
      expect(JSON.stringify(evaluate(obj, makeContext())!.patch), name).not.to.match(/runAsNonRoot|runAsUser/);
    }
  });

  it('leaves a seccomp profile set on the pod or the container alone', () => {
    const podProfile = withFixes(fixture('run-as-root', 'fail', 'debug-as-root'));
    expect(valueAt(podProfile, 'spec.ephemeralContainers[0].securityContext.capabilities')).to.deep.equal({ drop: ['ALL'] });
    expect(valueAt(podProfile, 'spec.ephemeralContainers[0].securityContext.seccompProfile')).to.equal(undefined);
    const obj = fixture('run-as-root', 'fail', 'storefront');
    (valueAt(obj, 'spec.template.spec.containers[1].securityContext') as Record<string, unknown>).seccompProfile = { type: 'Localhost', localhostProfile: 'php.json' };
    expect(valueAt(withFixes(obj), 'spec.template.spec.containers[1].securityContext.seccompProfile')).to.deep.equal({ type: 'Localhost', localhostProfile: 'php.json' });
  });

  it('judges Windows pods on the user only, and fixes no Linux field there', () => {
    const obj = fixture('run-as-root', 'fail', 'win-admin');
    expect(theFinding(obj, ROOT).fixable).to.equal(true);
    expect(valueAt(withFixes(obj), 'spec.containers[0].securityContext')).to.deep.equal({ runAsNonRoot: true });
    expect(theFinding(obj, ROOT).message).to.include('neither it nor the pod sets windowsOptions.runAsUserName or runAsNonRoot: true').and.not.include('runAsUser above 0');
  });

  it('says where ContainerAdministrator is set, and never flips it', () => {
    const obj = fixture('run-as-root', 'fail', 'win-container-administrator');
    const [onPod, onContainer, unchecked] = findingsOf(obj, 'run-as-root');
    expect(onPod!.message).to.equal('Container "iis" runs as root: windowsOptions.runAsUserName: ContainerAdministrator is set on the pod.');
    expect(onContainer!.message).to.include('windowsOptions.runAsUserName: containeradministrator is set on the container');
    expect(onPod!.fixable).to.equal(false);
    expect(onContainer!.fixable).to.equal(false);
    expect(onPod!.remediation).to.include('ContainerUser');
    // Another account may be an administrator: runAsNonRoot: true has the kubelet check, and the fix adds it.
    expect(unchecked!.message).to.include('NETWORK SERVICE').and.include('may be an administrator');
    expect(unchecked!.fixable).to.equal(true);
  });

  describe('writable-root-fs', () => {
    const pod = (securityContext: Record<string, unknown> | undefined) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'app', image: 'app', securityContext: { capabilities: { drop: ['ALL'] }, ...securityContext } }],
      },
    });

    it('warns (medium) when readOnlyRootFilesystem is unset or false, and names emptyDir mounts as the way there', () => {
      for (const value of [undefined, false, null]) {
        const f = theFinding(pod(value === undefined ? undefined : { readOnlyRootFilesystem: value }), WRITABLE);
        expect(f, String(value)).to.include({ severity: 'medium', action: 'warn', fixable: false, path: 'spec.containers[0].securityContext.readOnlyRootFilesystem' });
        expect(f.remediation).to.include('emptyDir').and.include('mountPath: /tmp');
      }
      expect(theFinding(pod({ readOnlyRootFilesystem: false }), WRITABLE).message).to.include('sets readOnlyRootFilesystem: false');
      expect(findingsOf(pod({ readOnlyRootFilesystem: true }), 'run-as-root')).to.deep.equal([]);
    });

    it('is not fixed by default; a policy that turns the fix on sets it where unset, never over an explicit false', () => {
      const noReadOnly = (patch: { path: string }[]) => patch.filter((op) => op.path.includes('readOnlyRootFilesystem'));
      expect(noReadOnly(evaluate(pod(undefined), makeContext())!.patch)).to.deep.equal([]);
      const ctx = makeContext({ policy: policyWith('gaps:\n  run-as-root:\n    rules:\n      run-as-root/writable-root-fs: { fix: true }\n') });
      expect(valueAt(withFixes(pod(undefined), ctx), 'spec.containers[0].securityContext.readOnlyRootFilesystem')).to.equal(true);
      expect(findingsOf(withFixes(pod(undefined), ctx), 'run-as-root', ctx)).to.deep.equal([]);
      expect(noReadOnly(evaluate(pod({ readOnlyRootFilesystem: false }), ctx)!.patch)).to.deep.equal([]);
    });

    it('denies when the policy says so, and stays off with the gap', () => {
      const deny = makeContext({ policy: policyWith('gaps:\n  run-as-root:\n    rules:\n      run-as-root/writable-root-fs: { action: deny }\n') });
      expect(theFinding(pod(undefined), WRITABLE, deny).action).to.equal('deny');
      const off = makeContext({ policy: policyWith('gaps:\n  run-as-root:\n    action: off\n') });
      expect(findingsOf(pod(undefined), 'run-as-root', off)).to.deep.equal([]);
    });
  });
});
