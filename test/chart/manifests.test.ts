// manifests/gapguard.yaml is the chart rendered for users without Helm: it must not drift from the
// chart, and must carry no generated key.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../helpers.js';
import { find, parseObjects } from './helm.js';

const MANIFESTS = join(repoRoot, 'manifests/gapguard.yaml');

describe('manifests/', () => {
  it('match the chart rendered by scripts/render-manifests.sh', () => {
    const check = spawnSync(join(repoRoot, 'scripts/render-manifests.sh'), ['--check'], { cwd: repoRoot, encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).to.equal(0);
  });

  it('install the server in audit mode with no Secret in the file', () => {
    const objects = parseObjects(readFileSync(MANIFESTS, 'utf8'));
    expect(objects.map((o) => o.kind)).not.to.include('Secret');
    expect(objects.every((o) => o.metadata.namespace === undefined || o.metadata.namespace === 'gapguard')).to.equal(true);
    const policy = (find(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml']!;
    expect(policy).to.match(/^mode: audit$/m);
    const volumes = (find(objects, 'Deployment').spec as { template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } } })
      .template.spec.volumes;
    expect(volumes.find((v) => v.name === 'tls')!.secret!.secretName).to.equal('gapguard-tls');
    // The webhook configurations come after everything else they need, so they are created after
    // the server they call (only the mode-label policy, which calls nothing, may follow them).
    const kinds = objects.map((o) => o.kind);
    const firstWebhook = kinds.indexOf('MutatingWebhookConfiguration');
    expect(kinds.slice(firstWebhook).filter((k) => !k.startsWith('ValidatingAdmissionPolicy'))).to.deep.equal(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
    expect(firstWebhook).to.be.greaterThan(kinds.indexOf('Deployment'));
  });
});
