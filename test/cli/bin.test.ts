// The command the package ships (package.json `bin`: the bundle of scripts/bundle.mjs, made by
// `npm run build`) behaves as the compiled modules the other CLI tests run: same bytes on stdout
// and stderr, same exit codes, for each output format, `fix`, and the commands loaded on demand;
// `serve --background-audit` starts the audit's worker thread from the bundle's own file. On Node
// before 22.1 the offline commands run from dist/cli/offline.cjs with a V8 code cache: it is taken,
// and a start whose V8 refuses it still answers the same.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { compileOffline } from '../../src/cli/offline-script.js';
import { insecurePod } from '../admission/objects.js';
import { repoRoot } from '../helpers.js';
import { FakeApiServer, namespace, NAMESPACES, PODS } from '../server/fake-apiserver.js';
import { eventually, metricValue, send } from '../server/harness.js';
import { caFileFrom, killServeProcesses, serveProcess } from '../server/serve-process.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: { gapguard: string } };
const SHIPPED = join(repoRoot, pkg.bin.gapguard);
const COMPILED = join(repoRoot, 'dist/src/cli/main.js');

function run(bin: string, args: string[], nodeFlags: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, bin, ...args], { encoding: 'utf8', cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
  // The HTML report says when it was generated.
  return { code: r.status, stdout: r.stdout.replace(/Generated \d{4}-[\d-]+T[\d:.]+Z/, 'Generated (time)'), stderr: r.stderr };
}

describe('gapguard as shipped (package.json bin)', () => {
  it('is the bundle in dist/cli, not the compiled modules', () => {
    expect(pkg.bin.gapguard).to.equal('dist/cli/gapguard.cjs');
  });

  const fixture = 'test/fixtures/cli/mixed.yaml';
  const cases: string[][] = [
    ['scan', '--output', 'json', fixture],
    ['scan', '--output', 'sarif', fixture],
    ['scan', fixture],
    ['scan', '--output', 'html', fixture],
    ['fix', fixture],
    ['scan', 'test/fixtures/cli/does-not-exist.yaml'],
    ['serve', '--help'],
    ['audit', '--help'],
    ['--version'],
  ];
  for (const args of cases) {
    it(`answers gapguard ${args.join(' ')} as the compiled CLI does`, () => {
      const shipped = run(SHIPPED, args);
      const compiled = run(COMPILED, args);
      expect(shipped.stderr).to.not.include('internal error');
      expect(shipped).to.deep.equal(compiled);
      expect(shipped.stdout.length + shipped.stderr.length).to.be.greaterThan(0);
    });
  }

  it('runs the background audit in its worker thread, loaded from beside the bundle', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'gapguard-bin-'));
    const api = await new FakeApiServer().start();
    try {
      api.put(NAMESPACES, namespace('shop'));
      api.put(PODS, insecurePod() as never);
      api.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
      const server = await serveProcess(SHIPPED, [`--kubeconfig=${join(dir, 'kubeconfig.yaml')}`, '--cert-dir', join(dir, 'certs'), '--background-audit'], dir);
      const ca = readFileSync(caFileFrom(server.stdout()));
      await eventually(() => server.stderr().includes('"msg":"background audit: first run done"'), 'the first audit run', 30_000);
      // The worker's gauges on /metrics: a Namespace and a Pod held.
      expect(metricValue((await send({ port: server.port, ca, path: '/metrics' })).text, 'gapguard_background_audit_objects', {})).to.equal(2);
      server.child.kill('SIGTERM');
      expect(await server.exit).to.equal(0);
    } finally {
      killServeProcesses();
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the offline script and its code cache', () => {
    const OFFLINE = join(repoRoot, 'dist/cli/offline.cjs');

    it('comes with a code cache that V8 takes', () => {
      expect(compileOffline(OFFLINE)?.script.cachedDataRejected).to.equal(false);
    });

    it('answers as the compiled CLI does when V8 refuses the cache (a V8 flag the cache was not made with)', () => {
      const flags = ['--max-old-space-size=512'];
      const probe = `import('${join(repoRoot, 'dist/src/cli/offline-script.js')}').then((m) => process.stdout.write(String(m.compileOffline('${OFFLINE}').script.cachedDataRejected)))`;
      expect(spawnSync(process.execPath, [...flags, '--input-type=module', '-e', probe], { encoding: 'utf8' }).stdout).to.equal('true');
      const args = ['scan', '--output', 'json', fixture];
      expect(run(SHIPPED, args, flags)).to.deep.equal(run(COMPILED, args));
    });
  });
});
