// npm run image:push against a real registry (Debian's docker-registry over HTTPS on 127.0.0.1):
// the image pulled back by digest is the one built, and the SBOM is there as an OCI artifact whose
// subject is the image, found through the sha256-<hex> tag (docker-registry 2.8 has no referrers API).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startRegistry, type RunningRegistry } from '../../test/registry/registry-server.js';
import { builtImage, readLayout, repoRoot, run, runOk, tool, type BuiltImage, type Descriptor } from './image.js';

describe('image: pushed to and pulled from a real registry', function () {
  this.timeout(300_000);
  let image: BuiltImage;
  let registry: RunningRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let crane: string;
  let repository: string;

  before(async () => {
    image = builtImage();
    crane = tool('crane');
    registry = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'gapguard-image-push-'));
    writeFileSync(join(dir, 'ca.crt'), registry.ca);
    // crane and oras are Go programs: SSL_CERT_FILE replaces the system roots with the test CA.
    env = { ...process.env, SSL_CERT_FILE: join(dir, 'ca.crt') };
    repository = `${registry.host}/security/gapguard`;
  });

  after(async () => {
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pushes with npm run image:push and pulls the same image back by digest', () => {
    const pushed = runOk('npm', ['run', '--silent', 'image:push', '--', `${repository}:0.1.0-test`], { cwd: repoRoot, env });
    expect(pushed.trim().split('\n').pop()).to.equal(`${repository}@${image.digest}`);

    const pulled = join(dir, 'pulled');
    runOk(crane, ['pull', '--format', 'oci', `${repository}@${image.digest}`, pulled], { env });
    const back = readLayout(pulled);
    expect(back.digest).to.equal(image.digest);
    for (const blob of [image.manifest.config, ...image.manifest.layers]) {
      expect(back.blob(blob.digest).equals(image.blob(blob.digest)), blob.digest).to.equal(true);
    }
    expect(runOk(crane, ['digest', `${repository}:0.1.0-test`], { env }).trim()).to.equal(image.digest);
  });

  it('attaches the SBOM under the sha256-<hex> tag, as an artifact whose subject is the image', () => {
    const index = JSON.parse(runOk(crane, ['manifest', `${repository}:sha256-${image.digest.slice('sha256:'.length)}`], { env })) as
      { manifests: (Descriptor & { artifactType?: string })[] };
    const sboms = index.manifests.filter((m) => m.artifactType === 'application/spdx+json');
    expect(sboms).to.have.length(1);
    const artifact = JSON.parse(runOk(crane, ['manifest', `${repository}@${sboms[0]!.digest}`], { env })) as
      { subject: Descriptor; layers: Descriptor[] };
    expect(artifact.subject.digest).to.equal(image.digest);
    expect(artifact.layers.map((l) => l.mediaType)).to.deep.equal(['application/spdx+json']);
    const sbom = runOk(crane, ['blob', `${repository}@${artifact.layers[0]!.digest}`], { env });
    expect(sbom).to.equal(readFileSync(image.sbom, 'utf8'));
  });

  it('refuses a push without an image reference, and one by digest', () => {
    expect(run('npm', ['run', '--silent', 'image:push'], { cwd: repoRoot, env }).status).to.equal(2);
    const byDigest = run('npm', ['run', '--silent', 'image:push', '--', `${repository}@${image.digest}`], { cwd: repoRoot, env });
    expect(byDigest.status).to.equal(2);
    expect(byDigest.stderr).to.match(/give a tag or nothing, not a digest/);
  });
});
