// The image is a function of the commit: two clean clones build the same digest (the second with
// empty caches, so nothing is reused from the first), and the chart pins that digest.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { builtImage, repoRoot, runOk } from './image.js';

describe('image: reproducible, and pinned in the chart', function () {
  this.timeout(1_800_000);

  it("pins in the chart's default values the digest a fresh build of this commit gives", () => {
    const values = parse(readFileSync(join(repoRoot, 'charts', 'gapguard', 'values.yaml'), 'utf8')) as { image: { digest: string } };
    const { digest, config } = builtImage();
    const revision = config.config.Labels?.['org.opencontainers.image.revision'] ?? '';
    expect(revision, 'build/image was built from uncommitted inputs: commit them, then npm run image').not.to.match(/-dirty$/);
    expect(values.image.digest, 'charts/gapguard/values.yaml image.digest is not what this commit builds: run npm run image:pin').to.equal(digest);
  });

  it('builds the same digest from two clean clones of the commit', () => {
    const head = runOk('git', ['-C', repoRoot, 'rev-parse', 'HEAD']).trim();
    const work = mkdtempSync(join(tmpdir(), 'gapguard-image-clones-'));
    try {
      const digests = ['a', 'b'].map((name) => {
        const clone = join(work, name);
        runOk('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
        runOk('git', ['-C', clone, 'checkout', '--quiet', '--detach', head]);
        runOk('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: clone });
        // The second clone starts with empty caches: downloads, strip and gzip run again.
        const env = name === 'b' ? { ...process.env, GAPGUARD_IMAGE_CACHE: join(work, 'cache') } : process.env;
        return runOk('npm', ['run', '--silent', 'image'], { cwd: clone, env }).trim().split('\n').pop();
      });
      expect(digests[0]).to.match(/^sha256:[0-9a-f]{64}$/);
      expect(digests[1]).to.equal(digests[0]);
      const built = builtImage();
      if (!built.config.config.Labels?.['org.opencontainers.image.revision']?.endsWith('-dirty')) {
        expect(built.digest, 'build/image is not what this commit builds').to.equal(digests[0]);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
