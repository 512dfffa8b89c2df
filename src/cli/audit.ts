// `gapguard audit`: judges what already runs in a cluster, with the engine, policy and reports of
// `gapguard scan`. Exit codes as scan: 0 nothing denied, 1 a finding's action is deny, 2 usage,
// policy, kubeconfig or API errors (one line on stderr, never a stack trace).
import { auditSnapshot } from '../cluster/audit.js';
import { KubeConfigError, loadClusterTarget } from '../cluster/kubeconfig.js';
import { ClusterUnavailableError, readCluster } from '../cluster/read.js';
import { defaultPolicy, loadPolicyFile, PolicyError } from '../policy/load.js';
import { ImageLookupService, type ImageLookupConfig } from '../registry/lookups.js';
import { podImages } from '../workloads/locate.js';
import { IMAGE_LOOKUP_OPTIONS, imageLookupConfig, imageLookupUsage, OFFLINE_LOOKUP_BUDGET_MS } from './image-lookup-flags.js';
import { exitCode, isOutputFormat, OUTPUT_CHOICES, formatReport, type OutputFormat } from './report.js';
import { excludedNamespacesFlag, parseFlags, parsedOrExitCode, UsageError } from './usage.js';

const USAGE = `Usage: gapguard audit [options]

Lists Pods, every controller kind that carries a pod template, NetworkPolicies and Namespaces from
a cluster and judges them as gapguard scan judges manifests; also containers that have been running
longer than the policy's stale-image maxRunningAgeDays. Needs get and list on those resources
(docs/cluster-audit.md has a ClusterRole).

Options:
  --kubeconfig FILE         kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, else the
                            in-cluster service account)
  --context NAME            kubeconfig context (default: its current-context)
  -n, --namespace NS        audit one namespace
  -A, --all-namespaces      audit every namespace (the default)
  --excluded-namespaces NAMES
                            namespaces never judged, reported or counted (comma-separated), e.g.
                            those the webhook configurations leave out, as serve's background audit
  --policy FILE             policy merged over the embedded default
  -o, --output FORMAT       table, json, sarif or html (default table)
  --request-timeout SECONDS longest wait for each API request (default 30)
  --chunk-size N            objects per list request; larger lists are paged (default 500)
  -h, --help                this help
Registry lookups (stale-image/old-image needs the images' build times):
${imageLookupUsage(OFFLINE_LOOKUP_BUDGET_MS)}Exit codes: 0 nothing denied, 1 a finding would be denied, 2 usage, policy, kubeconfig or API error.
`;

interface AuditConfig {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  excludedNamespaces?: string[];
  policy?: string;
  output: OutputFormat;
  timeoutMs: number;
  pageSize: number;
  imageLookups?: ImageLookupConfig;
}

function parseAuditArgs(argv: string[]): AuditConfig | 'help' {
  const parsed = parseFlags(argv, {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
    'excluded-namespaces': { type: 'string' },
    policy: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'table' },
    'request-timeout': { type: 'string', default: '30' },
    'chunk-size': { type: 'string', default: '500' },
    ...IMAGE_LOOKUP_OPTIONS,
    help: { type: 'boolean', short: 'h', default: false },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.namespace !== undefined && v['all-namespaces']) throw new UsageError('--namespace and --all-namespaces contradict each other');
  if (v.namespace === '') throw new UsageError('--namespace must not be empty');
  const excluded = excludedNamespacesFlag(v['excluded-namespaces']);
  if (v.namespace !== undefined && excluded?.includes(v.namespace)) throw new UsageError(`--namespace ${v.namespace} is among --excluded-namespaces: nothing would be audited`);
  if (!isOutputFormat(v.output)) throw new UsageError(`--output must be ${OUTPUT_CHOICES}, not "${v.output}"`);
  const seconds = /^\d+(\.\d+)?$/.test(v['request-timeout']) ? Number(v['request-timeout']) : NaN;
  if (!(seconds > 0 && seconds <= 3600)) throw new UsageError(`--request-timeout must be a number of seconds above 0 and up to 3600, not "${v['request-timeout']}"`);
  const pageSize = /^\d+$/.test(v['chunk-size']) ? Number(v['chunk-size']) : NaN;
  if (!(pageSize >= 1 && pageSize <= 10_000)) throw new UsageError(`--chunk-size must be a whole number from 1 to 10000, not "${v['chunk-size']}"`);
  const imageLookups = imageLookupConfig(v, OFFLINE_LOOKUP_BUDGET_MS);
  return {
    ...(imageLookups ? { imageLookups } : {}),
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.context !== undefined ? { context: v.context } : {}),
    ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
    ...(excluded ? { excludedNamespaces: excluded } : {}),
    ...(v.policy !== undefined ? { policy: v.policy } : {}),
    output: v.output,
    timeoutMs: seconds * 1000,
    pageSize,
  };
}

export async function runAudit(argv: string[]): Promise<number> {
  const config = parsedOrExitCode('gapguard audit', USAGE, () => parseAuditArgs(argv));
  if (typeof config === 'number') return config;
  try {
    // The policy first: a typo in it should not cost a round of API requests.
    const policy = config.policy !== undefined ? loadPolicyFile(config.policy) : defaultPolicy();
    const target = loadClusterTarget(config);
    const snapshot = await readCluster(target, {
      ...(config.namespace !== undefined ? { namespace: config.namespace } : {}),
      ...(config.excludedNamespaces ? { excludedNamespaces: new Set(config.excludedNamespaces) } : {}),
      timeoutMs: config.timeoutMs,
      pageSize: config.pageSize,
    });
    // The images the specs name now; a tag may have moved since a running container pulled it.
    const imageLookups = config.imageLookups
      ? await new ImageLookupService(config.imageLookups).lookUp(snapshot.workloads.flatMap((w) => podImages(w)), policy)
      : undefined;
    const outcome = await auditSnapshot(snapshot, { policy, now: new Date(), source: `cluster:${target.context}`, ...(imageLookups ? { imageLookups } : {}) });
    process.stdout.write(formatReport(outcome, config.output, `cluster ${target.context}`));
    for (const w of outcome.warnings) process.stderr.write(`gapguard audit: warning: ${w}\n`);
    for (const p of outcome.problems) process.stderr.write(`gapguard audit: ${p.source}: ${p.message}\n`);
    return exitCode(outcome);
  } catch (err) {
    if (err instanceof PolicyError) process.stderr.write(`gapguard audit: policy error: ${err.message}\n`);
    else if (err instanceof KubeConfigError || err instanceof ClusterUnavailableError) process.stderr.write(`gapguard audit: ${err.message}\n`);
    else throw err;
    return 2;
  }
}
