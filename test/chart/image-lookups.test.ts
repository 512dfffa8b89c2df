// Registry lookups in the chart: on by default (tags are pinned at admission), with no credentials
// or CA until given; the server's flags then point at the mounted pull secret and CA, every flag is
// one `gapguard serve` knows, they can be turned off, and values that cannot work are refused with
// the reason.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../helpers.js';
import { chartDir, find, helm, render, template, type RenderedObject } from './helm.js';

interface Volume {
  name: string;
  secret?: { secretName: string; items: { key: string; path: string }[] };
  configMap?: { name: string; items: { key: string; path: string }[] };
}

interface PodSpec {
  containers: { args: string[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[];
  volumes: Volume[];
}

function podSpec(objects: RenderedObject[]): PodSpec {
  return (find(objects, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
}

/** Where a volume's one item lands in the container. */
function mountedFile(spec: PodSpec, volume: string): string {
  const mount = spec.containers[0]!.volumeMounts.find((m) => m.name === volume)!;
  expect(mount.readOnly).to.equal(true);
  const v = spec.volumes.find((x) => x.name === volume)!;
  return `${mount.mountPath}/${(v.secret ?? v.configMap)!.items[0]!.path}`;
}

const ENABLED = { imageLookups: { enabled: true, authSecret: 'registry-pull', caConfigMap: 'registry-ca', plainHttpRegistries: ['registry.dev:5000', 'localhost:5001'] } };

describe('chart: registry lookups', () => {
  it('are on by default, with the budget and no credentials, CA or plain-HTTP host until given', async () => {
    const spec = podSpec(await render());
    expect(spec.containers[0]!.args.filter((a) => /resolve-images|registry|lookup/.test(a))).to.deep.equal(['--resolve-images', '--image-lookup-budget=1500']);
    expect(spec.volumes.map((v) => v.name)).not.to.include.members(['registry-auth', 'registry-ca']);
  });

  it('can be turned off: no lookup flags, no registry volumes', async () => {
    const spec = podSpec(await render({ values: { imageLookups: { enabled: false } } }));
    expect(spec.containers[0]!.args.filter((a) => /resolve-images|registry|lookup/.test(a))).to.deep.equal([]);
    expect(spec.volumes.map((v) => v.name)).not.to.include.members(['registry-auth', 'registry-ca']);
  });

  it('when on, pass the budget, the mounted pull secret and CA, and plain-HTTP hosts to the server', async () => {
    const spec = podSpec(await render({ values: ENABLED }));
    const args = spec.containers[0]!.args;
    expect(args.filter((a) => /resolve-images|registry|lookup/.test(a))).to.deep.equal([
      '--resolve-images',
      '--image-lookup-budget=1500',
      `--registry-auth=${mountedFile(spec, 'registry-auth')}`,
      `--registry-ca=${mountedFile(spec, 'registry-ca')}`,
      '--registry-plain-http=registry.dev:5000,localhost:5001',
    ]);
    const auth = spec.volumes.find((v) => v.name === 'registry-auth')!.secret!;
    expect(auth.secretName).to.equal('registry-pull');
    expect(auth.items).to.deep.equal([{ key: '.dockerconfigjson', path: 'config.json' }]);
    expect(spec.volumes.find((v) => v.name === 'registry-ca')!.configMap).to.include({ name: 'registry-ca' });

    const usage = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'serve', '--help'], { encoding: 'utf8' }).stdout;
    for (const arg of args.slice(1)) expect(usage, arg).to.include(`  ${arg.split('=')[0]} `);
  });

  it('pass helm lint --strict when on', async () => {
    const result = await helm(['lint', '--strict', chartDir, '--set', 'imageLookups.enabled=true,imageLookups.authSecret=pull,imageLookups.caConfigMap=ca']);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it('refuse a budget the webhook timeout cannot hold, and registry settings while lookups are off', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ imageLookups: { enabled: true, budgetMs: 2500 } }, /imageLookups\.budgetMs \(2500\) must be at least a second under the shorter webhook timeout \(3 s\)/],
      [{ imageLookups: { enabled: true, budgetMs: 50 } }, /at '\/imageLookups\/budgetMs'/],
      [{ imageLookups: { enabled: true, plainHttpRegistries: ['http://registry.dev'] } }, /at '\/imageLookups\/plainHttpRegistries\/0'/],
      [{ imageLookups: { enabled: true, authSecret: 'Not_A_Name' } }, /at '\/imageLookups\/authSecret'/],
      [{ imageLookups: { enabled: false, authSecret: 'registry-pull' } }, /have no effect unless imageLookups\.enabled is true/],
    ];
    for (const [values, message] of cases) {
      const result = await template({ values });
      expect(result.code, JSON.stringify(values)).to.not.equal(0);
      expect(result.stderr).to.match(message);
    }
    const longer = await render({ values: { imageLookups: { enabled: true, budgetMs: 2500 }, webhook: { timeoutSeconds: { enforce: 10, audit: 5 } } } });
    expect(podSpec(longer).containers[0]!.args).to.include('--image-lookup-budget=2500');
  });
});
