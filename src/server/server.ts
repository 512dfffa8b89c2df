// The webhook server: HTTPS with certificates that reload from disk, a policy that reloads from
// disk, the cluster view, and a drain that lets in-flight admissions finish before it stops.
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AdmissionSources } from '../admission/admit.js';
import type { ClusterView } from '../cluster/view.js';
import { NO_CLUSTER } from '../cluster/view.js';
import { ImageLookupService, type ImageLookupConfig } from '../registry/lookups.js';
import { createRequestListener } from './app.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { PolicyFile, type PolicyInForce } from './policy-file.js';
import { ensureSelfSignedCertificate } from './self-signed.js';
import { readCredentials, type TlsFiles } from './tls.js';
import { warmUp } from './warm-up.js';
import { watchFiles } from './watch-files.js';

export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;
/** The API server gives a webhook at most 30 s; a request still running after that has no reader. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
/** Node's default is 120 s: a few hundred half-open handshakes would hold as many sockets for minutes. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Far more than the kube-apiserver keeps open to one replica (Go's pool), far fewer than the file descriptors. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/**
 * How long a connection may sit idle between requests: longer than the kube-apiserver keeps an idle
 * connection to a webhook (90 s, client-go's IdleConnTimeout), so the client is the one that ends
 * it. With Node's 5 s default the server closed connections the kube-apiserver still meant to reuse:
 * after each pause of more than 5 s the next call paid a new TLS handshake, and a close crossing a
 * POST on the wire is a fail-closed "connection reset" (Go does not retry a POST). Idle connections
 * stay bounded by maxConnections, and a drain closes them once cold.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
const SELF_SIGNED_RENEWAL_CHECK_MS = 12 * 3600_000;
/** How long startup waits for the cluster's first lists before serving from the policy alone. */
const FIRST_LIST_WAIT_MS = 10_000;
/** How long a drain waits for in-flight requests before it closes their connections. */
const DRAIN_TIMEOUT_MS = 25_000;
/**
 * How long a keep-alive connection may sit idle in a drain before the drain closes it. The
 * kube-apiserver reuses its most recently used connection first, so one that stayed idle this long
 * while the load went on is one it is not about to write to; closing a hot one races its next POST,
 * which Go does not retry (a fail-closed "failed calling webhook").
 */
const DRAIN_IDLE_CLOSE_MS = 2_000;

export interface ServerOptions {
  host: string;
  port: number;
  /** Certificate files, or a directory where a self-signed CA and certificate are kept. */
  tls: { certFile: string; keyFile: string } | { certDir: string };
  clientCaFile?: string;
  /** Names (subject CN or DNS SAN) a client certificate must carry, e.g. the kube-apiserver's; any without it. */
  clientNames?: string[];
  /** OpenSSL cipher list; tls.ts's DEFAULT_CIPHERS without it. */
  tlsCiphers?: string;
  /** Connections open at once; past it new ones are closed at once. */
  maxConnections?: number;
  /** How long a connection may take to finish its TLS handshake. */
  handshakeTimeoutMs?: number;
  /** Merged over the embedded default; watched. Without it, the embedded default. */
  policyFile?: string;
  cluster?: ClusterView;
  logger: Logger;
  bodyLimit?: number;
  /** How often watched files are checked besides file-system events. */
  watchIntervalMs?: number;
  /** Registry lookups of image facts; without it, none. */
  imageLookups?: ImageLookupConfig;
  /** The metrics /metrics serves; the background audit adds its gauges (Metrics.addSource). */
  metrics?: Metrics;
  /** Told of every policy a reload puts in force (the background audit judges with it). */
  onPolicyReload?: (inForce: PolicyInForce) => void;
  /** Rounds of built-in sample reviews judged before listening (warm-up.ts); none without it. */
  warmUpRounds?: number;
}

export interface RunningServer {
  readonly port: number;
  /** The CA to trust, when the server generated its own certificate. */
  readonly caFile?: string;
  /** The policy in force (replaced on every accepted reload), with its source and hash. */
  readonly policyInForce: PolicyInForce;
  /** Stops accepting connections, finishes in-flight requests, then stops watchers and informers. */
  close(): Promise<void>;
}

/** Starts serving. The server owns the cluster view: close() stops it, and so does a failed start. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  try {
    return await start(options);
  } catch (err) {
    await options.cluster?.stop();
    throw err;
  }
}

async function start(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  const cluster = options.cluster ?? NO_CLUSTER;
  const metrics = options.metrics ?? new Metrics();
  const watchIntervalMs = options.watchIntervalMs ?? 5000;

  // A broken policy at startup is the caller's error to report: it propagates as a PolicyError.
  const policyFile = new PolicyFile(options.policyFile, logger, metrics, options.onPolicyReload);

  let tlsFiles: TlsFiles;
  let caFile: string | undefined;
  const tls = options.tls;
  const certDir = 'certDir' in tls ? tls.certDir : undefined;
  if ('certDir' in tls) {
    const generated = await ensureSelfSignedCertificate(tls.certDir);
    if (generated.generated) logger.info('generated a self-signed certificate', { caFile: generated.caFile, certFile: generated.certFile });
    tlsFiles = { certFile: generated.certFile, keyFile: generated.keyFile };
    caFile = generated.caFile;
  } else {
    tlsFiles = { certFile: tls.certFile, keyFile: tls.keyFile };
  }
  if (options.clientCaFile) tlsFiles.clientCaFile = options.clientCaFile;
  if (options.tlsCiphers) tlsFiles.ciphers = options.tlsCiphers;
  let credentials = readCredentials(tlsFiles);
  metrics.certificateExpiresAt(credentials.notAfter);

  let listening = false;
  let draining = false;
  const sources: AdmissionSources = {
    get policy() {
      return policyFile.inForce.policy;
    },
    namespaceMode: (namespace) => cluster.namespaceMode(namespace),
    namespacesKnown: () => cluster.inSync(),
    networkPolicies: (namespace) => cluster.networkPolicies(namespace),
  };
  let imageLookups: ImageLookupService | undefined;
  if (options.imageLookups) {
    const config = options.imageLookups;
    const service = new ImageLookupService(config, (image, error) => logger.warn('image lookup failed', { image, error }));
    metrics.watchImageCache(() => service.cacheSize);
    imageLookups = service;
    // Hosts only: credentials are never logged.
    logger.info('image lookups on', { budgetMs: config.budgetMs, plainHttp: config.plainHttp, registriesWithCredentials: Object.keys(config.credentials), extraCa: config.ca !== undefined });
  }
  const requireClientCert = options.clientCaFile !== undefined;
  const listener = createRequestListener({
    sources,
    requireClientCert,
    ...(options.clientNames?.length ? { clientNames: options.clientNames } : {}),
    metrics,
    logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...(imageLookups ? { imageLookups } : {}),
    // Not ready while the cluster state a decision may need is unknown (not listed yet, or the
    // watch failing, so possibly stale): the Service then sends reviews to replicas that know it.
    readiness: () => ({
      ready: listening && !draining && cluster.inSync(),
      detail: {
        policy: { source: options.policyFile ?? 'embedded default', sha256: policyFile.inForce.hash, loadedAt: policyFile.inForce.loadedAt.toISOString() },
        certificate: { notAfter: credentials.notAfter.toISOString() },
        cluster: cluster.status(),
        ...(draining ? { draining: true } : {}),
      },
    }),
  });

  const stops: (() => void)[] = [];
  if (certDir !== undefined) {
    // Renewed files are picked up by the certificate watch below.
    const renewal = setInterval(() => {
      ensureSelfSignedCertificate(certDir).catch((err: Error) => logger.error('self-signed certificate renewal failed', { error: err.message }));
    }, SELF_SIGNED_RENEWAL_CHECK_MS);
    renewal.unref();
    stops.push(() => clearInterval(renewal));
  }
  // Client certificates are asked for and verified at the handshake, and required by the admission routes.
  const server = createServer(
    { ...credentials.options, requestCert: requireClientCert, rejectUnauthorized: false, handshakeTimeout: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS },
    listener,
  );
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  // A client that sends its headers slowly holds a connection as long as one that never does.
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Connections with no request in flight, and since when: the drain closes them once they are cold.
  // Kept here rather than left to Node's closeIdleConnections(), which closes hot connections as
  // readily as cold ones and counts a connection that never sent a request as busy (the spare
  // connections the kube-apiserver dials and keeps for 90 s).
  const idleSince = new Map<Socket, number>();
  server.on('secureConnection', (socket: Socket) => {
    metrics.tlsHandshake();
    idleSince.set(socket, Date.now());
    socket.once('close', () => idleSince.delete(socket));
  });
  // Before the app's listener, which may answer at once.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    idleSince.delete(req.socket);
    // While draining, every answer ends its connection: the client learns it from the answer
    // itself, so it never races a close it cannot see coming.
    if (draining) res.setHeader('Connection', 'close');
    res.once('finish', () => {
      if (!req.socket.destroyed) idleSince.set(req.socket, Date.now());
    });
  });
  server.on('tlsClientError', (err) => logger.debug('TLS handshake failed', { error: err.message }));

  stops.push(
    watchFiles(
      [tlsFiles.certFile, tlsFiles.keyFile, ...(tlsFiles.clientCaFile ? [tlsFiles.clientCaFile] : [])],
      () => {
        try {
          credentials = readCredentials(tlsFiles);
          // New handshakes use the new context; connections already open keep theirs.
          server.setSecureContext(credentials.options);
          metrics.certificateExpiresAt(credentials.notAfter);
          logger.info('certificate reloaded', { certFile: tlsFiles.certFile, notAfter: credentials.notAfter.toISOString() });
        } catch (err) {
          logger.error('certificate reload refused; the certificate in use stays', { error: (err as Error).message });
        }
      },
      watchIntervalMs,
    ),
  );
  if (options.policyFile) {
    stops.push(watchFiles([options.policyFile], () => policyFile.changed(), watchIntervalMs), () => policyFile.stop());
  }

  const stopWatching = (): void => {
    for (const stop of stops) stop();
  };
  try {
    // The kube-apiserver calls as soon as the port accepts. Before the first list, namespace labels
    // are unknown and an enforce namespace would be judged by the policy's mode (audit in the chart):
    // listen once the lists have answered. If they hang, serve from the policy alone, as after an error.
    let waited: NodeJS.Timeout | undefined;
    const listed = await Promise.race([
      cluster.firstListsDone().then(() => true),
      new Promise<boolean>((resolve) => (waited = setTimeout(() => resolve(false), FIRST_LIST_WAIT_MS))),
    ]);
    clearTimeout(waited);
    if (!listed) logger.warn('the cluster has not answered the first lists; serving from the policy alone until it does', { waitedSeconds: FIRST_LIST_WAIT_MS / 1000 });
    if (options.warmUpRounds) {
      const warmStarted = performance.now();
      try {
        const judged = warmUp(sources, options.warmUpRounds);
        logger.info('warmed up', { judged, ms: Math.round(performance.now() - warmStarted) });
      } catch (err) {
        // A policy the samples trip over is still a policy to serve: the warm-up is only for speed.
        logger.warn('warm-up stopped', { error: (err as Error).message });
      }
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stopWatching();
    throw err;
  }
  listening = true;
  // Past startup a server error (say, out of file descriptors) is logged; the process keeps serving.
  server.on('error', (err) => logger.error('server error', { error: err.message }));
  const port = (server.address() as AddressInfo).port;
  logger.info('serving', { url: `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`, policy: options.policyFile ?? 'embedded default', sha256: policyFile.inForce.hash, cluster: cluster.status() });

  let closing: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    draining = true;
    logger.info('draining: finishing in-flight requests');
    await new Promise<void>((resolve) => {
      // Idle time counts from the drain's start: a connection idle before it is not known cold yet.
      const drainStarted = Date.now();
      for (const socket of idleSince.keys()) idleSince.set(socket, drainStarted);
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [socket, since] of idleSince) if (now - since >= DRAIN_IDLE_CLOSE_MS) socket.destroy();
      }, 100);
      const force = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      force.unref();
      // net.Server's close stops accepting and calls back once every connection has ended; the
      // https server's own close() would first close every idle connection at once, hot ones too.
      NetServer.prototype.close.call(server, () => {
        clearInterval(sweep);
        clearTimeout(force);
        resolve();
      });
    });
    stopWatching();
    await cluster.stop();
    logger.info('stopped');
  };
  return {
    port,
    caFile,
    get policyInForce() {
      return policyFile.inForce;
    },
    close: () => (closing ??= drain()),
  };
}
