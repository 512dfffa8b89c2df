// `gapguard serve`: flags to server options, then run until SIGTERM or SIGINT and drain.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AuditThread } from '../cluster/audit-thread.js';
import type { ClusterView } from '../cluster/view.js';
import { NO_CLUSTER } from '../cluster/view.js';
import { PolicyError } from '../policy/load.js';
import { batchedStderr, createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../server/log.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/policy-report.js';
import { Metrics } from '../server/metrics.js';
import { DEFAULT_BODY_LIMIT, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, startServer, type RunningServer, type ServerOptions } from '../server/server.js';
import { WARM_UP_ROUNDS } from '../server/warm-up.js';
import { IMAGE_LOOKUP_OPTIONS, imageLookupConfig, imageLookupUsage } from './image-lookup-flags.js';
import { excludedNamespacesFlag, parseFlags, parsedOrExitCode, UsageError } from './usage.js';

/** A replica that dies is replaced as report writer within LEASE_SECONDS + LEASE_RETRY_MS. */
const LEASE_SECONDS = 10;
const LEASE_RETRY_MS = 2000;
/** Changes within this time are judged in one run of the background audit. */
const AUDIT_DEBOUNCE_MS = 1000;

/** Well under the API server's webhook timeout (the chart's audit webhook waits 3 s). */
const DEFAULT_LOOKUP_BUDGET_MS = 1500;

const USAGE = `Usage: gapguard serve [options]

Runs the admission webhook over HTTPS: POST /validate and /mutate (AdmissionReview v1; the
/validate/audit and /mutate/audit routes, or ?mode=audit, never deny or patch; /validate/enforce
and /mutate/enforce always enforce), GET /healthz, /readyz and /metrics.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on (default 8443; 0 picks a free one)
  --tls-cert FILE          serving certificate (PEM); reloaded when the file changes
  --tls-key FILE           its private key (PEM); reloaded when the file changes
  --cert-dir DIR           without --tls-cert: where a self-signed CA and serving certificate for
                           localhost are generated and kept (default .gapguard/certs)
  --client-ca FILE         require client certificates signed by this CA (the kube-apiserver's)
  --client-name NAMES      with --client-ca: accept only certificates for one of these names
                           (comma-separated; subject CN or DNS SAN), e.g. the kube-apiserver's
  --tls-ciphers LIST       OpenSSL cipher list (default: TLS 1.3 suites and ECDHE with AES-GCM
                           or ChaCha20-Poly1305 for TLS 1.2; no CBC, no SHA-1)
  --max-connections N      connections open at once (default ${DEFAULT_MAX_CONNECTIONS})
  --handshake-timeout S    seconds a connection has to finish its TLS handshake (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000})
  --policy FILE            policy merged over the embedded default; reloaded when it changes
  --kubeconfig FILE        cluster to watch Namespaces and NetworkPolicies in (default: the
                           in-cluster config inside a pod, else no cluster)
  --no-cluster             judge from the policy alone, even inside a cluster
  --log-level LEVEL        debug, info, warn or error (default info); JSON lines on stderr
  --body-limit BYTES       largest request body accepted (default ${DEFAULT_BODY_LIMIT})
  -h, --help               this help
Background audit (needs a cluster; docs/cluster-audit.md):
  --background-audit       watch Pods and every controller kind and judge them continuously, as
                           gapguard audit does; gauges on /metrics
  --reports FORMAT         also write policy reports: wgpolicyk8s (PolicyReport) or openreports
                           (Report), one per namespace plus a cluster one
  --report-owner-clusterrole NAME
                           ClusterRole that owns the reports: deleting it deletes them
  --leader-lease NS/NAME   only the holder of this coordination.k8s.io Lease writes reports
                           (default: this replica writes); identity: $POD_NAME, else host and pid
  --dashboard-port PORT    serve the read-only dashboard over HTTP on this port (0 picks one)
  --dashboard-host HOST    address of the dashboard (default 127.0.0.1: kubectl port-forward)
  --metrics-max-namespaces N
                           namespaces with their own series in the audit gauges (default 100)
  --excluded-namespaces NAMES
                           namespaces the audit never judges, reports or counts (comma-separated):
                           those the webhook configurations leave out (the chart passes its list)
Registry lookups (off by default; per request, a version tag whose digest arrives within the
budget is pinned by /mutate, one whose digest does not is denied, and the answer says why):
${imageLookupUsage(DEFAULT_LOOKUP_BUDGET_MS)}Exit codes: 0 after a clean drain on SIGTERM or SIGINT, 2 usage, policy or startup error.
`;

interface BackgroundConfig {
  reports?: { format: ReportFormat; ownerClusterRole?: string };
  lease?: { namespace: string; name: string };
  dashboard?: { host: string; port: number };
  excludedNamespaces?: string[];
  maxNamespaces: number;
}

interface ServeConfig {
  options: Omit<ServerOptions, 'logger' | 'cluster'>;
  logLevel: LogLevel;
  kubeconfig?: string;
  noCluster: boolean;
  background?: BackgroundConfig;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}

function parseServeArgs(argv: string[]): ServeConfig | 'help' {
  const parsed = parseFlags(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8443' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'cert-dir': { type: 'string' },
    'client-ca': { type: 'string' },
    'client-name': { type: 'string' },
    'tls-ciphers': { type: 'string' },
    'max-connections': { type: 'string', default: String(DEFAULT_MAX_CONNECTIONS) },
    'handshake-timeout': { type: 'string', default: String(DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000) },
    policy: { type: 'string' },
    kubeconfig: { type: 'string' },
    'no-cluster': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    'body-limit': { type: 'string', default: String(DEFAULT_BODY_LIMIT) },
    help: { type: 'boolean', short: 'h', default: false },
    'background-audit': { type: 'boolean', default: false },
    reports: { type: 'string' },
    'report-owner-clusterrole': { type: 'string' },
    'leader-lease': { type: 'string' },
    'dashboard-port': { type: 'string' },
    'dashboard-host': { type: 'string', default: '127.0.0.1' },
    'metrics-max-namespaces': { type: 'string', default: '100' },
    'excluded-namespaces': { type: 'string' },
    ...IMAGE_LOOKUP_OPTIONS,
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (v['tls-cert'] !== undefined && v['cert-dir'] !== undefined) throw new UsageError('--cert-dir is for generated certificates: leave it out with --tls-cert');
  if (v.kubeconfig !== undefined && v['no-cluster']) throw new UsageError('--kubeconfig and --no-cluster contradict each other');
  if (!(LOG_LEVELS as readonly string[]).includes(v['log-level'])) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${v['log-level']}"`);
  if (v.host === '') throw new UsageError('--host must not be empty');
  if (v['client-name'] !== undefined && v['client-ca'] === undefined) throw new UsageError('--client-name needs --client-ca: names are read from verified client certificates');
  const clientNames = v['client-name']?.split(',').map((n) => n.trim());
  if (clientNames?.some((n) => n === '')) throw new UsageError('--client-name must list names separated by commas, none empty');
  if (v['tls-ciphers'] !== undefined) {
    try {
      createSecureContext({ ciphers: v['tls-ciphers'] });
    } catch {
      throw new UsageError(`--tls-ciphers names no cipher OpenSSL knows: "${v['tls-ciphers']}"`);
    }
  }
  const imageLookups = imageLookupConfig(v, DEFAULT_LOOKUP_BUDGET_MS);
  const background = backgroundConfig(v);
  if (background && v['no-cluster']) throw new UsageError('--background-audit needs a cluster: leave out --no-cluster');
  return {
    ...(background ? { background } : {}),
    options: {
      host: v.host,
      port: wholeNumber('port', v.port, 0, 65535),
      tls: v['tls-cert'] !== undefined ? { certFile: v['tls-cert'], keyFile: v['tls-key']! } : { certDir: resolve(v['cert-dir'] ?? '.gapguard/certs') },
      ...(v['client-ca'] !== undefined ? { clientCaFile: v['client-ca'] } : {}),
      ...(clientNames ? { clientNames } : {}),
      ...(v['tls-ciphers'] !== undefined ? { tlsCiphers: v['tls-ciphers'] } : {}),
      maxConnections: wholeNumber('max-connections', v['max-connections'], 1, 1_000_000),
      handshakeTimeoutMs: wholeNumber('handshake-timeout', v['handshake-timeout'], 1, 600) * 1000,
      ...(v.policy !== undefined ? { policyFile: v.policy } : {}),
      bodyLimit: wholeNumber('body-limit', v['body-limit'], 1024, 1024 ** 3),
      ...(imageLookups ? { imageLookups } : {}),
      warmUpRounds: WARM_UP_ROUNDS,
    },
    logLevel: v['log-level'] as LogLevel,
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    noCluster: v['no-cluster'],
  };
}

function backgroundConfig(v: Record<string, string | boolean | undefined>): BackgroundConfig | undefined {
  const needing = ['reports', 'report-owner-clusterrole', 'leader-lease', 'dashboard-port', 'excluded-namespaces'].filter((f) => v[f] !== undefined);
  if (!v['background-audit']) {
    if (needing.length) throw new UsageError(`--${needing[0]} needs --background-audit`);
    return undefined;
  }
  const reports = v.reports as string | undefined;
  if (reports !== undefined && !(REPORT_FORMATS as readonly string[]).includes(reports)) throw new UsageError(`--reports must be ${REPORT_FORMATS.join(' or ')}, not "${reports}"`);
  if (v['report-owner-clusterrole'] !== undefined && reports === undefined) throw new UsageError('--report-owner-clusterrole needs --reports');
  const lease = v['leader-lease'] as string | undefined;
  const leaseParts = lease === undefined ? undefined : /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(lease);
  if (lease !== undefined && !leaseParts) throw new UsageError(`--leader-lease must be NAMESPACE/NAME (lowercase DNS names), not "${lease}"`);
  if (v['dashboard-host'] === '') throw new UsageError('--dashboard-host must not be empty');
  const excluded = excludedNamespacesFlag(v['excluded-namespaces'] as string | undefined);
  return {
    ...(reports !== undefined
      ? { reports: { format: reports as ReportFormat, ...(v['report-owner-clusterrole'] !== undefined ? { ownerClusterRole: v['report-owner-clusterrole'] as string } : {}) } }
      : {}),
    ...(leaseParts ? { lease: { namespace: leaseParts[1]!, name: leaseParts[3]! } } : {}),
    ...(excluded ? { excludedNamespaces: excluded } : {}),
    ...(v['dashboard-port'] !== undefined ? { dashboard: { host: v['dashboard-host'] as string, port: wholeNumber('dashboard-port', v['dashboard-port'] as string, 0, 65535) } } : {}),
    maxNamespaces: wholeNumber('metrics-max-namespaces', v['metrics-max-namespaces'] as string, 1, 10_000),
  };
}

/** The cluster to watch: --kubeconfig, else the in-cluster config inside a pod, else none. */
async function clusterFrom(config: ServeConfig, logger: Logger): Promise<{ view: ClusterView; kubeConfig?: KubeConfig }> {
  if (config.noCluster || (config.kubeconfig === undefined && !process.env.KUBERNETES_SERVICE_HOST)) {
    if (config.background) throw new Error('--background-audit needs a cluster: pass --kubeconfig, or run inside a pod');
    logger.info('no cluster: judging from the policy alone (no namespace modes, no NetworkPolicy lookups)');
    return { view: NO_CLUSTER };
  }
  // Loaded only when a cluster is used: the client is the largest module of the program.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { connectCluster } = await import('../cluster/informers.js');
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig !== undefined) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error(`${config.kubeconfig ?? 'the in-cluster config'} names no current cluster`);
  logger.info('watching the cluster', { server: cluster.server });
  return { view: connectCluster(kubeConfig, logger), kubeConfig };
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export async function runServe(argv: string[]): Promise<number> {
  const config = parsedOrExitCode('gapguard serve', USAGE, () => parseServeArgs(argv));
  if (typeof config === 'number') return config;
  const writeLog = batchedStderr();
  const logger = createLogger(config.logLevel, writeLog);
  let server: RunningServer;
  let audit: AuditThread | undefined;
  try {
    const cluster = await clusterFrom(config, logger);
    const metrics = new Metrics();
    server = await startServer({ ...config.options, cluster: cluster.view, logger, metrics, onPolicyReload: (inForce) => audit?.setPolicy(inForce.source) });
    if (config.background && cluster.kubeConfig) {
      try {
        const { AuditThread } = await import('../cluster/audit-thread.js');
        const b = config.background;
        audit = new AuditThread({
          kubeConfig: cluster.kubeConfig,
          logger,
          logLevel: config.logLevel,
          writeLog,
          policy: server.policyInForce.source,
          metrics,
          settings: {
            ...(config.options.imageLookups ? { imageLookups: config.options.imageLookups } : {}),
            ...(b.reports ? { reports: b.reports } : {}),
            ...(b.lease ? { lease: { ...b.lease, identity: process.env.POD_NAME || `${hostname()}-${process.pid}`, durationSeconds: LEASE_SECONDS, retryMs: LEASE_RETRY_MS } } : {}),
            ...(b.dashboard ? { dashboard: b.dashboard } : {}),
            ...(b.excludedNamespaces ? { excludedNamespaces: b.excludedNamespaces } : {}),
            maxNamespaces: b.maxNamespaces,
            debounceMs: AUDIT_DEBOUNCE_MS,
          },
        });
        // Set before its start: a reload meanwhile is sent to it (onPolicyReload above).
        await audit.start();
      } catch (err) {
        await server.close();
        throw err;
      }
    }
  } catch (err) {
    const what = err instanceof PolicyError ? 'policy error' : 'cannot start';
    process.stderr.write(`gapguard serve: ${what}: ${(err as Error).message}\n`);
    return 2;
  }
  if (server.caFile) process.stdout.write(`CA certificate: ${server.caFile}\n`);
  const signal = await waitForStopSignal();
  logger.info('stop signal received', { signal });
  // The audit first: a leader releases its lease before admission drains.
  await audit?.stop();
  await server.close();
  return 0;
}
