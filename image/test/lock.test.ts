// The Debian packages come only at the versions and SHA256s of image/debian.lock: a version the
// archive no longer serves, or a .deb that is not the one locked, stops the build with what to do.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot, run, runOk } from './image.js';

describe('image: the Debian lock', function () {
  this.timeout(600_000);
  let work: string;
  let clone: string;
  let lock: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'gapguard-image-lock-'));
    clone = join(work, 'clone');
    runOk('git', ['clone', '--quiet', repoRoot, clone]);
    lock = readFileSync(join(clone, 'image', 'debian.lock'), 'utf8');
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  /** image/build.sh in the clone with libc6's lock line changed, and a cache of its own. */
  function buildWithLibc6(change: (fields: string[]) => void) {
    const changed = lock.split('\n').map((line) => {
      const fields = line.split(' ');
      if (fields[0] !== 'libc6') return line;
      change(fields);
      return fields.join(' ');
    });
    writeFileSync(join(clone, 'image', 'debian.lock'), changed.join('\n'));
    return run(join(clone, 'image', 'build.sh'), [], { cwd: clone, env: { ...process.env, GAPGUARD_IMAGE_CACHE: join(work, 'cache') } });
  }

  it('stops at a version the archive does not serve, naming it and npm run image:lock', () => {
    const result = buildWithLibc6((fields) => (fields[1] = '2.36-9+deb12u999'));
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('the Debian archive no longer serves libc6 2.36-9+deb12u999 (image/debian.lock)');
    expect(result.stderr).to.include("'npm run image:lock'");
  });

  it('stops at a .deb whose SHA256 is not the locked one', () => {
    const result = buildWithLibc6((fields) => (fields[3] = '0'.repeat(64)));
    expect(result.status).to.equal(1);
    expect(result.stderr).to.match(/libc6 \S+ from the archive does not match the SHA256 in image\/debian\.lock/);
  });
});
