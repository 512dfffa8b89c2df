// docker-socket through the engine: runtime sockets and the directories above them, under every
// spelling that string matching misses, configured extra sockets, and DOCKER_HOST over TCP.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext, policyWith } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, summary, theFinding } from './gap-fixtures.js';

const HOST_PATH = 'docker-socket/host-path';
const TCP = 'docker-socket/docker-host-tcp';
const template = (i: number) => `${HOST_PATH} @ spec.template.spec.volumes[${i}].hostPath.path`;
const pod = (i: number) => `${HOST_PATH} @ spec.volumes[${i}].hostPath.path`;

describeFixtures('docker-socket', {
  'gitlab-runner': [template(1)],
  'image-build': [`${TCP} @ spec.template.spec.containers[0].env[1].value`],
  'nightly-docker-gc': [
    `${HOST_PATH} @ spec.jobTemplate.spec.template.spec.volumes[0].hostPath.path`,
    `${TCP} @ spec.jobTemplate.spec.template.spec.containers[0].env[0].value`,
  ],
  'double-slash': [pod(0)],
  'trailing-slash': [template(0)],
  'dot-dot': [template(0)],
  'node-monitor': [template(1)],
  'host-root': [template(0)],
  'run-dir': [`${HOST_PATH} @ template.spec.volumes[0].hostPath.path`],
  'containerd-agent': [template(0), template(1)],
  'k3s-images': [pod(0)],
  'microk8s-images': [pod(0)],
  'crio-metrics': [template(0)],
  'cri-dockerd-exporter': [template(0)],
  'podman-build': [template(0)],
  'buildkit-client': [template(0)],
  'dockershim-legacy': [pod(0)],
  'whole-var': [pod(0)],
  unmounted: [pod(0)],
  'debug-session': [pod(1), `${TCP} @ spec.ephemeralContainers[0].env[0].value`],
  'proc-escape': [0, 1, 2, 3, 4, 5, 6, 7, 8].map(template),
  'rootless-and-distros': [0, 1, 2, 3, 4, 5, 6, 7].map(pod),
});

function podWithHostPaths(...paths: string[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'agent', namespace: 'ops' },
    spec: {
      containers: [{ name: 'agent', image: 'registry.example.com/ops/agent:1.0', volumeMounts: paths.map((_, i) => ({ name: `v${i}`, mountPath: `/mnt/${i}` })) }],
      volumes: paths.map((path, i) => ({ name: `v${i}`, hostPath: { path } })),
    },
  };
}

describe('docker-socket', () => {
  it('catches the public bypasses and stops at segment boundaries', () => {
    const flagged = ['//var/run/docker.sock', '/var/run/docker.sock/', '/var/run/../run/docker.sock', '/var/run', '/', '/run/./docker.sock'];
    const clean = ['/var/log/pods', '/var/run-other', '/run/docker.sock.d', '/run/docker.socket', '/var/runs'];
    const findings = findingsOf(podWithHostPaths(...flagged, ...clean), 'docker-socket');
    expect(summary(findings)).to.deep.equal(flagged.map((_, i) => pod(i)).sort());
  });

  it('says how a path through /proc reaches the sockets, and names rootless and distribution runtimes', () => {
    const byVolume = new Map(
      findingsOf(fixture('docker-socket', 'fail', 'proc-escape'), 'docker-socket').map((f) => [f.path, f.message]),
    );
    const message = (i: number) => byVolume.get(`spec.template.spec.volumes[${i}].hostPath.path`)!;
    expect(message(0)).to.match(/through a host process's root directory, the host's Docker socket/);
    expect(message(1)).to.match(/a host process's root directory \(the node's filesystem\), which reaches every runtime socket/);
    expect(message(2)).to.match(/working directory, which can be any directory of the node/);
    expect(message(3)).to.match(/the host's \/proc, holding every process's root directory/);
    expect(message(4)).to.match(/through a host process's root directory, a host directory above the containerd socket \/run\/containerd\/containerd\.sock/);
    const distros = findingsOf(fixture('docker-socket', 'fail', 'rootless-and-distros'), 'docker-socket').map((f) => f.message);
    expect(distros[0]).to.match(/the host's rootless Docker socket/);
    expect(distros[2]).to.match(/the host's k0s containerd socket/);
    expect(distros[3]).to.match(/k3s\/RKE2 containerd socket/);
    expect(distros[6]).to.match(/a host directory above the rootless \w+ socket \/run\/user\/1000\//);
    expect(distros[5]).to.match(/above the rootless BuildKit socket \/var\/run\/user\/1000\/buildkit\/buildkitd\.sock/);
  });

  it('denies a mounted socket as critical, without a fix, naming the containers that mount it and the alternatives', () => {
    const obj = fixture('docker-socket', 'fail', 'gitlab-runner');
    const f = theFinding(obj, HOST_PATH);
    expect(f).to.include({ severity: 'critical', action: 'deny', fixable: false });
    expect(f.message).to.include('"docker-sock"').and.include('/var/run/docker.sock');
    expect(f.message).to.include('container "runner"').and.include('container "cache-cleaner"');
    expect(f.remediation).to.match(/BuildKit/).and.match(/kaniko/).and.match(/kubelet/);
    // Other gaps fix the containers; nothing touches the volumes.
    expect(evaluate(obj, makeContext())!.patch.filter((op) => op.path.includes('/volumes'))).to.deep.equal([]);
  });

  it('says which socket a mounted directory exposes, and that an unmounted volume is still reachable', () => {
    const monitor = theFinding(fixture('docker-socket', 'fail', 'node-monitor'), HOST_PATH);
    expect(monitor.message).to.match(/directory above the Docker socket \/var\/run\/docker\.sock/).and.include('container "cadvisor"');
    const crio = theFinding(fixture('docker-socket', 'fail', 'crio-metrics'), HOST_PATH);
    expect(crio.message).to.match(/is the host's CRI-O socket/);
    expect(theFinding(fixture('docker-socket', 'fail', 'unmounted'), HOST_PATH).message).to.match(/not mounted yet/);
  });

  it('names an ephemeral container that mounts the socket', () => {
    const f = findingsOf(fixture('docker-socket', 'fail', 'debug-session'), 'docker-socket').find((x) => x.rule === HOST_PATH)!;
    expect(f.message).to.include('container "debugger"');
  });

  it('warns about DOCKER_HOST over TCP as medium, without echoing the daemon address', () => {
    const f = theFinding(fixture('docker-socket', 'fail', 'image-build'), TCP);
    expect(f).to.include({ severity: 'medium', action: 'warn', fixable: false });
    expect(f.message).to.include('Container "build"').and.not.include('localhost:2375');
    expect(f.remediation).to.match(/BuildKit/);
  });

  it('adds configured sockets to the built-in list, normalised and under both /run spellings, per policy', () => {
    const policy = policyWith('gaps:\n  docker-socket:\n    socketPaths: [/opt//agent/./runtime.sock, /run/custom/engine.sock]\n');
    const paths = ['/opt/agent/runtime.sock', '/opt/agent', '/var/run/custom', '/var/run/docker.sock', '/opt/agent-data'];
    const withConfig = findingsOf(podWithHostPaths(...paths), 'docker-socket', makeContext({ policy }));
    expect(summary(withConfig)).to.deep.equal([pod(0), pod(1), pod(2), pod(3)]);
    expect(withConfig[0]!.message).to.match(/configured runtime socket/);
    // Another policy object is not affected by the first one's extra sockets.
    expect(summary(findingsOf(podWithHostPaths(...paths), 'docker-socket'))).to.deep.equal([pod(3)]);
  });

  it('reads a `*` segment of a configured socket as any one segment', () => {
    const policy = policyWith('gaps:\n  docker-socket:\n    socketPaths: [/run/user/*/engine/engine.sock]\n');
    const paths = ['/run/user/42/engine/engine.sock', '/var/run/user/7/engine', '/run/user/42/engine/other.sock', '/run/user/42/x/engine/engine.sock'];
    expect(summary(findingsOf(podWithHostPaths(...paths), 'docker-socket', makeContext({ policy })))).to.deep.equal([pod(0), pod(1)]);
  });

  it('lets an exemption by image waive a socket held by one container only', () => {
    const policy = policyWith(
      'exemptions:\n  - match: {images: ["gcr.io/cadvisor/*"]}\n    gaps: [docker-socket]\n    reason: cAdvisor reads container stats\n',
    );
    expect(findingsOf(fixture('docker-socket', 'fail', 'node-monitor'), 'docker-socket', makeContext({ policy }))).to.deep.equal([]);
    const runnerPolicy = policyWith('exemptions:\n  - match: {images: ["gitlab/*"]}\n    gaps: [docker-socket]\n    reason: runner\n');
    // The socket is shared with a second image the exemption does not name: still a finding.
    expect(findingsOf(fixture('docker-socket', 'fail', 'gitlab-runner'), 'docker-socket', makeContext({ policy: runnerPolicy }))).to.have.length(1);
  });
});
