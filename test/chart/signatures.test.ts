// Signature verification in the chart: the Secrets and ConfigMaps holding keys and trusted roots
// are mounted whole under /etc/gapguard/signatures/<name>/, and the policy that names them is
// loaded by the real server; values that cannot work are refused with the reason.
import { expect } from 'chai';
import { parse } from 'yaml';
import { parsePolicy } from '../../src/policy/load.js';
import { find, render, template } from './helm.js';

interface PodSpec {
  containers: { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[];
  volumes: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
}

const MOUNTS = [
  { name: 'shop-keys', secret: 'shop-cosign-pub' },
  { name: 'public-good', configMap: 'sigstore-trusted-root' },
];

describe('chart: signatures', () => {
  it('mounts each Secret or ConfigMap read-only at /etc/gapguard/signatures/<name>/, and passes the requirements to the policy', async () => {
    const requirement = { name: 'shop', images: ['registry.example.com/shop/**'], transparencyLog: false, keys: [{ file: '/etc/gapguard/signatures/shop-keys/cosign.pub' }] };
    const objects = await render({ values: { imageLookups: { enabled: true }, signatures: { mounts: MOUNTS }, policy: { gaps: { 'unverified-image': { signatures: [requirement] } } } } });
    const spec = (find(objects, 'Deployment').spec as { template: { spec: PodSpec } }).template.spec;
    const mounts = spec.containers[0]!.volumeMounts.filter((m) => m.name.startsWith('signatures-'));
    expect(mounts).to.deep.equal([
      { name: 'signatures-shop-keys', mountPath: '/etc/gapguard/signatures/shop-keys', readOnly: true },
      { name: 'signatures-public-good', mountPath: '/etc/gapguard/signatures/public-good', readOnly: true },
    ]);
    expect(spec.volumes.find((v) => v.name === 'signatures-shop-keys')!.secret!.secretName).to.equal('shop-cosign-pub');
    expect(spec.volumes.find((v) => v.name === 'signatures-public-good')!.configMap!.name).to.equal('sigstore-trusted-root');
    const policy = parse((find(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml']!) as { gaps: Record<string, { signatures: unknown }> };
    expect(policy.gaps['unverified-image']!.signatures).to.deep.equal([requirement]);
    // The server refuses it here only because the key file is not mounted on this machine.
    expect(() => parsePolicy(JSON.stringify(policy), 'chart')).to.throw(/signatures\.0\.keys\.0\.file: cannot read \/etc\/gapguard\/signatures\/shop-keys\/cosign\.pub/);
  });

  it('refuses requirements without registry lookups, a mount with both or neither source, and a name used twice', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ imageLookups: { enabled: false }, policy: { gaps: { 'unverified-image': { signatures: [{ images: ['a.io/b'] }] } } } }, /signatures needs imageLookups\.enabled: true/],
      [{ signatures: { mounts: [{ name: 'k', secret: 's', configMap: 'c' }] } }, /at '\/signatures\/mounts\/0'/],
      [{ signatures: { mounts: [{ name: 'k' }] } }, /at '\/signatures\/mounts\/0'/],
      [{ signatures: { mounts: [{ name: 'Keys', secret: 's' }] } }, /at '\/signatures\/mounts\/0\/name'/],
      [{ signatures: { mounts: [{ name: 'k', secret: 's' }, { name: 'k', configMap: 'c' }] } }, /the name "k" appears twice/],
    ];
    for (const [values, message] of cases) {
      const result = await template({ values });
      expect(result.code, JSON.stringify(values)).to.not.equal(0);
      expect(result.stderr).to.match(message);
    }
  });
});
