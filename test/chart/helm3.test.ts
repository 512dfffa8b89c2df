// The chart must work with Helm 3 as well as Helm 4: helm 3 (built by scripts/install-helm.sh) lints
// it strictly, applies the same schema, and renders the very objects helm 4 renders, in every mode.
import { expect } from 'chai';
import { chartDir, helm, render, template, type RenderedObject } from './helm.js';

const MODES: Record<string, Record<string, unknown>> = {
  'default (audit, generated certificate)': {},
  enforce: { mode: 'enforce' },
  'cert-manager': { tls: { mode: 'cert-manager' } },
  'existing secret': { tls: { mode: 'secret', secret: { name: 'gapguard-tls' } } },
  'out-of-cluster server': { server: { enabled: false }, webhook: { url: 'https://127.0.0.1:8443', caBundle: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t' } },
};

/**
 * Generated certificates and keys differ on every render, and the two versions order kinds they
 * do not know (cert-manager's) differently; everything else must be the same.
 */
function comparable(objects: RenderedObject[]): unknown {
  const id = (o: RenderedObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const sorted = [...objects].sort((a, b) => id(a).localeCompare(id(b)));
  // The generated certificate's not-after annotation follows the clock, which may tick between the two renders.
  return JSON.parse(JSON.stringify(sorted), (key, value: unknown) =>
    key === 'gapguard.io/not-after' ? '<time>' :
    typeof value === 'string' && (value.startsWith('LS0tLS1CRUdJTi') || value.startsWith('-----BEGIN')) ? '<pem>' : value,
  );
}

describe('chart: Helm 3', () => {
  it('reports itself as helm 3', async () => {
    const result = await helm(['version', '--template', '{{.Version}}'], 'helm3');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^v3\.\d+\.\d+$/);
  });

  for (const [name, values] of Object.entries(MODES)) {
    it(`renders the same objects as helm 4: ${name}`, async () => {
      const args = ['--kube-version', 'v1.37.2'];
      const [v3, v4] = await Promise.all([render({ values, args, binary: 'helm3' }), render({ values, args })]);
      expect(v3.length).to.be.greaterThan(5);
      expect(comparable(v3)).to.deep.equal(comparable(v4));
    });
  }

  it('passes helm lint --strict in every mode', async () => {
    for (const values of Object.values(MODES)) {
      const set = Object.entries(values).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
      const result = await helm(['lint', '--strict', chartDir, ...set], 'helm3');
      expect(result.code, `${set.join(' ')}\n${result.stdout}${result.stderr}`).to.equal(0);
      expect(result.stdout).to.match(/0 chart\(s\) failed/);
    }
  });

  it('refuses a wrong value through the schema, naming the field', async () => {
    const result = await template({ values: { mode: 'enforced' }, binary: 'helm3' });
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.match(/mode/).and.match(/audit/);
  });
});
