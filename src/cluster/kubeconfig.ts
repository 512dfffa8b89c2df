// Which cluster `gapguard audit` talks to, as kubectl would choose it: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config, else the in-cluster service account. Unlike the client's
// loadFromDefault, finding none is an error, not a silent http://localhost:8080.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export interface ClusterTarget {
  kubeConfig: KubeConfig;
  /** The context in use (`inClusterContext` inside a pod). */
  context: string;
  server: string;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * One line on why a kubeconfig cannot be loaded. The YAML parser's own message quotes the
 * offending lines, which may hold a token or a key: only its reason and line number are kept.
 */
function describeLoadFailure(err: unknown): string {
  const e = err as { name?: string; reason?: string; mark?: { line?: number }; code?: string; message?: string };
  if (e.name === 'YAMLException') return `invalid YAML${e.mark?.line !== undefined ? ` at line ${e.mark.line + 1}` : ''}: ${e.reason ?? 'cannot parse'}`;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return (e.message ?? String(err)).split('\n')[0]!;
}

function load(what: string, loader: () => void): void {
  try {
    loader();
  } catch (err) {
    throw new KubeConfigError(`cannot load ${what}: ${describeLoadFailure(err)}`);
  }
}

export function loadClusterTarget(options: { kubeconfig?: string; context?: string }): ClusterTarget {
  const kubeConfig = new KubeConfig();
  let what: string;
  if (options.kubeconfig !== undefined) {
    what = `kubeconfig ${options.kubeconfig}`;
    load(what, () => kubeConfig.loadFromFile(options.kubeconfig!));
  } else if (process.env.KUBECONFIG) {
    what = `kubeconfig $KUBECONFIG (${process.env.KUBECONFIG})`;
    load(what, () => kubeConfig.loadFromDefault());
  } else if (existsSync(join(homedir(), '.kube', 'config'))) {
    what = `kubeconfig ${join(homedir(), '.kube', 'config')}`;
    load(what, () => kubeConfig.loadFromDefault());
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
    what = 'the in-cluster service account';
    load(what, () => kubeConfig.loadFromCluster());
  } else {
    throw new KubeConfigError('no cluster to audit: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod with a service account');
  }

  if (options.context !== undefined) {
    if (!kubeConfig.getContextObject(options.context)) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new KubeConfigError(`${what} has no context "${options.context}" (it has: ${known.length ? known.join(', ') : 'none'})`);
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const context = kubeConfig.getCurrentContext();
  if (!context) throw new KubeConfigError(`${what} sets no current-context: pass --context NAME`);
  const contextObject = kubeConfig.getContextObject(context);
  if (!contextObject) throw new KubeConfigError(`${what}: current-context "${context}" is not among its contexts`);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`${what}: context "${context}" names cluster "${contextObject.cluster}", which it does not define`);
  if (contextObject.user && !kubeConfig.getCurrentUser()) {
    throw new KubeConfigError(`${what}: context "${context}" names user "${contextObject.user}", which it does not define`);
  }
  return { kubeConfig, context, server: cluster.server };
}

