// What signature verification costs: an image pushed to a real docker-registry on 127.0.0.1 and
// signed by the real cosign (a Sigstore bundle, found through the sha256-<hex> tag schema), then
// 1. cold: a fresh lookup service per verification (tag-schema fetches, bundle parsing, ECDSA);
// 2. cached, in process: lookUp + evaluate of the benchmark's Pod with a signature requirement on
//    every container's image, against the same without a requirement;
// 3. the webhook: gapguard serve with --resolve-images and that requirement, next to the same
//    server without it, the benchmark's 8 KB review (every image under the requirement) POSTed by
//    wrk, runs interleaved; medians. Usage: bash bench/signatures/run.sh
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { evaluate } from '../../src/engine/engine.js';
import { defaultPolicy, parsePolicy } from '../../src/policy/load.js';
import { factsFrom, ImageLookupService, type ImageLookupConfig } from '../../src/registry/lookups.js';
import { ensureSelfSignedCertificate } from '../../src/server/self-signed.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { startRegistry } from '../../test/registry/registry-server.js';
import { cosign, cosignKey, Workdir } from '../../test/signatures/sigstore-fixtures.js';
import { startServer, wrk, type WrkResult } from '../webhook/wrk.js';

const RUNS = Number(process.env.RUNS ?? 3);
const RUN_SECONDS = Number(process.env.RUN_SECONDS ?? 20);
const COLD_SAMPLES = 15;
const CACHED_ITERATIONS = 20_000;
const root = fileURLToPath(new URL('../../../', import.meta.url));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fixed = (n: number, d = 2) => n.toFixed(d);

async function main(): Promise<void> {
  const work = new Workdir();
  const reg = await startRegistry();
  const servers: ChildProcess[] = [];
  try {
    const caFile = work.file('registry-ca.crt', reg.ca);
    const key = await cosignKey(work, 'bench', 'ecdsa');
    const digest = await reg.push('shop/api', '2.4.1', { created: new Date().toISOString() });
    await cosign(['sign', '--yes', '--use-signing-config=false', '--tlog-upload=false', '--new-bundle-format=true', '--key', key.privateKey, `${reg.host}/shop/api@${digest}`], caFile);
    const image = `${reg.host}/shop/api:2.4.1@${digest}`;
    const policyText = `gaps:\n  unverified-image:\n    signatures:\n      - name: shop\n        images: ["${reg.host}/shop/*"]\n        transparencyLog: false\n        keys: [{ file: ${key.publicKeyFile} }]\n`;
    const policyFile = work.file('policy.yaml', policyText);
    const signedPolicy = parsePolicy(policyText, policyFile);
    const config: ImageLookupConfig = { budgetMs: 10_000, plainHttp: [], ca: reg.ca, credentials: {} };

    // The benchmark's review, every container image replaced by the signed one.
    spawnSync(process.execPath, [join(root, 'dist/bench/webhook/pod-review.js'), join(work.dir, 'base.json')]);
    const reviewText = readFileSync(join(work.dir, 'base.json'), 'utf8').replace(/registry\.example\.com\/shop\/[a-z-]+:2\.4\.1@sha256:[0-9a-f]{64}/g, image);
    const reviewFile = work.file('review.json', reviewText);
    const pod = (JSON.parse(reviewText) as { request: { object: KubeObject } }).request.object;

    // 1. Cold.
    const cold: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      const service = new ImageLookupService(config);
      const started = performance.now();
      const lookups = await service.lookUp([image], signedPolicy);
      cold.push(performance.now() - started);
      const verification = lookups.get(image) && 'facts' in lookups.get(image)! ? (lookups.get(image) as { facts: { verification?: { status: string } } }).facts.verification : undefined;
      if (verification?.status !== 'checked') throw new Error(`verification did not run: ${JSON.stringify(lookups.get(image))}`);
    }

    // 2. Cached, per review, in process.
    const perReview = async (policy: typeof signedPolicy): Promise<number> => {
      const service = new ImageLookupService(config);
      const images = [image];
      await service.lookUp(images, policy);
      const runs: number[] = [];
      for (let r = 0; r < 5; r++) {
        const started = performance.now();
        for (let i = 0; i < CACHED_ITERATIONS; i++) {
          const lookups = await service.lookUp(images, policy);
          const result = evaluate(pod, { policy, now: new Date(), networkPolicies: () => undefined, imageFacts: factsFrom(lookups) })!;
          if (policy === signedPolicy && result.findings.some((f) => f.rule === 'unverified-image/not-signed' || f.rule === 'unverified-image/verification-unavailable')) throw new Error('the signed image did not verify');
        }
        runs.push(((performance.now() - started) * 1000) / CACHED_ITERATIONS);
      }
      return median(runs);
    };
    const withoutUs = await perReview(defaultPolicy());
    const withUs = await perReview(signedPolicy);

    // 3. The webhook.
    const certs = await ensureSelfSignedCertificate(join(work.dir, 'certs'));
    const ca = readFileSync(certs.caFile);
    const body = Buffer.from(reviewText);
    const targets = [
      { name: 'gapguard, signature requirement on every image (cached)', port: 18491, policy: ['--policy', policyFile] },
      { name: 'gapguard, no signature requirement', port: 18492, policy: [] as string[] },
    ];
    for (const t of targets) {
      const args = [join(root, 'dist/src/cli/main.js'), 'serve', '--port', String(t.port), '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--no-cluster', '--resolve-images', '--registry-ca', caFile, ...t.policy];
      servers.push(await startServer(t.name, t.port, args, ca, body));
    }
    const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const t of targets) {
        wrk({ port: t.port, seconds: 5, threads: 2, connections: 50, reviewFile, root });
        const r = wrk({ port: t.port, seconds: RUN_SECONDS, threads: 2, connections: 50, reviewFile, root });
        results.get(t.name)!.push(r);
        process.stderr.write(`run ${run} ${t.name}: ${fixed(r.rps, 0)} req/s, p99 ${fixed(r.p99ms)} ms, errors ${r.errors}\n`);
      }
    }
    const med = (name: string, k: keyof WrkResult) => median(results.get(name)!.map((r) => r[k]));
    const lines = [
      `Machine: ${spawnSync('nproc').stdout.toString().trim()} cores, Node ${process.version}; registry: Debian docker-registry on 127.0.0.1 (HTTPS); signature: cosign Sigstore bundle (ECDSA P-256), found through the sha256-<hex> tag schema.`,
      '',
      `Cold verification (fresh caches: tag-schema index, bundle manifest and blob, legacy .sig probe, referrers probe, ECDSA verify), ${COLD_SAMPLES} samples: median ${fixed(median(cold))} ms (min ${fixed(Math.min(...cold))}, max ${fixed(Math.max(...cold))}).`,
      `Cached, per review in process (lookUp + evaluate of the ${Buffer.byteLength(reviewText)}-byte review's Pod, median of 5 x ${CACHED_ITERATIONS}): ${fixed(withUs, 1)} µs with the requirement, ${fixed(withoutUs, 1)} µs without: **${fixed(withUs - withoutUs, 1)} µs added** (target < 1000 µs).`,
      '',
      '| server | req/s (median) | p50 ms | p99 ms | errors | req/s of each run |',
      '|---|---:|---:|---:|---:|---|',
      ...targets.map((t) => {
        const runs = results.get(t.name)!;
        return `| ${t.name} | ${fixed(med(t.name, 'rps'), 0)} | ${fixed(med(t.name, 'p50ms'))} | ${fixed(med(t.name, 'p99ms'))} | ${runs.reduce((a, r) => a + r.errors, 0)} | ${runs.map((r) => fixed(r.rps, 0)).join(', ')} |`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const s of servers) s.kill();
    await reg.stop();
    work.remove();
  }
}

await main();
