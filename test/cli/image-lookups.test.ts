// `scan` and `fix` with --resolve-images, the built CLI under plain Node against a real OCI
// registry (Debian's docker-registry over HTTPS): stale-image with the age, tags pinned to the
// registry's digest, a note for an image whose registry is down, and flag errors that name the
// flag and never a credential.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../helpers.js';
import { startRegistry, type RunningRegistry } from '../registry/registry-server.js';

const BIN = join(repoRoot, 'dist/src/cli/main.js');
const DAY_MS = 24 * 3600_000;

/** Runs the CLI without blocking this process, which serves nothing but must stay responsive. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function deployment(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers:
        - name: api # the service
          image: ${image}
`;
}

interface Finding {
  rule: string;
  message: string;
}

describe('gapguard scan/fix --resolve-images (CLI, real docker-registry)', function () {
  this.timeout(60_000);
  let reg: RunningRegistry;
  let dir: string;
  let caFile: string;
  before(async () => {
    reg = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'gapguard-cli-lookups-'));
    caFile = reg.caFile;
  });
  after(async () => {
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scan reports stale-image with the image age', async () => {
    await reg.push('shop/api', 'old', { created: new Date(Date.now() - 180 * DAY_MS).toISOString() });
    const file = join(dir, 'old.yaml');
    writeFileSync(file, deployment(`${reg.host}/shop/api:old`));
    const offline = await run(['scan', '--output', 'json', file]);
    expect(offline.stdout).not.to.include('stale-image');
    const r = await run(['scan', '--output', 'json', '--resolve-images', '--registry-ca', caFile, file]);
    const findings = (JSON.parse(r.stdout) as { results: { findings: Finding[] }[] }).results[0]!.findings;
    const stale = findings.find((f) => f.rule === 'stale-image/old-image');
    expect(stale?.message, r.stdout + r.stderr).to.include('built 180 days ago');
    expect(findings.find((f) => f.rule === 'unverified-image/not-pinned')).to.include({ fixable: true });
  });

  it('fix pins the tag to the registry digest, keeping the comment; a rescan finds the image pinned', async () => {
    const digest = await reg.push('shop/api', '3.0', { created: new Date().toISOString() });
    const file = join(dir, 'tagged.yaml');
    writeFileSync(file, deployment(`${reg.host}/shop/api:3.0`));
    const flags = ['--resolve-images', '--registry-ca', caFile];
    const fixed = await run(['fix', ...flags, '--in-place', file]);
    expect(fixed.code, fixed.stderr).to.equal(0);
    const rescan = await run(['scan', '--output', 'json', ...flags, file]);
    const findings = (JSON.parse(rescan.stdout) as { results: { findings: Finding[] }[] }).results[0]!.findings;
    expect(findings.map((f) => f.rule)).not.to.include('unverified-image/not-pinned');
    const text = readFileSync(file, 'utf8');
    expect(text).to.include(`image: ${reg.host}/shop/api:3.0@${digest}`).and.include('# the service');
  });

  it('notes an image whose registry is down, with the error, and judges the rest as without lookups', async () => {
    const down = await startRegistry();
    const host = down.host;
    await down.stop();
    const file = join(dir, 'down.yaml');
    writeFileSync(file, deployment(`${host}/shop/api:1`));
    const offline = await run(['scan', '--output', 'json', file]);
    const r = await run(['scan', '--output', 'json', '--resolve-images', '--registry-ca', caFile, file]);
    expect(r.code).to.equal(offline.code);
    const result = (JSON.parse(r.stdout) as { results: { findings: Finding[]; notes?: string[] }[] }).results[0]!;
    expect(result.findings).to.deep.equal((JSON.parse(offline.stdout) as { results: { findings: Finding[] }[] }).results[0]!.findings);
    expect(result.notes).to.have.length(1);
    expect(result.notes![0]).to.match(new RegExp(`^no registry facts for "${host}/shop/api:1" \\(lookup failed: .*ECONNREFUSED.*\\): stale-image and digest pin skipped$`));
    const table = await run(['scan', '--resolve-images', '--registry-ca', caFile, file]);
    expect(table.stdout).to.include(`NOTE  no registry facts for "${host}/shop/api:1"`);
  });

  it('exits 2 on registry flags it cannot use, naming the flag and never the credential', async () => {
    const file = join(dir, 'any.yaml');
    writeFileSync(file, deployment('nginx:1.27'));
    const badAuth = join(dir, 'bad-auth.json');
    writeFileSync(badAuth, '{"auths": {"registry.example.com": {"auth": "c2VjcmV0LXdpdGhvdXQtY29sb24="}}}');
    const brokenJson = join(dir, 'broken.json');
    writeFileSync(brokenJson, '{"auths": {"registry.example.com": {"password": "hunter2-secret"');
    const cases: [string[], RegExp][] = [
      [['--registry-ca', caFile], /^gapguard: --registry-ca has no effect without --resolve-images$/m],
      [['--resolve-images', '--image-lookup-budget', 'soon'], /--image-lookup-budget must be a whole number of milliseconds/],
      [['--resolve-images', '--registry-ca', join(dir, 'missing.crt')], /--registry-ca .*missing\.crt: cannot read: ENOENT/],
      [['--resolve-images', '--registry-ca', file], /--registry-ca .*any\.yaml: no PEM certificate in it/],
      [['--resolve-images', '--registry-auth', badAuth], /auths\["registry\.example\.com"\]\.auth is not the base64 of username:password/],
      [['--resolve-images', '--registry-auth', brokenJson], /--registry-auth .*broken\.json: not valid JSON$/m],
      [['--resolve-images', '--registry-auth', caFile], /not valid JSON/],
    ];
    for (const [flags, message] of cases) {
      const r = await run(['scan', ...flags, file]);
      expect(r.code, flags.join(' ')).to.equal(2);
      expect(r.stderr, flags.join(' ')).to.match(message);
      expect(r.stderr).not.to.include('hunter2').and.not.include('c2VjcmV0').and.not.include('secret-without-colon');
    }
  });
});
