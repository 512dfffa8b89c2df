// Leader election over a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews the
// lease every renew interval; another replica takes it over once it has seen the same record for a
// whole lease duration (timed by its own clock from when it last saw the record change, so clock
// skew between nodes does not matter); updates carry the resourceVersion, so two replicas racing
// for an expired lease cannot both win. A replica that stops cleanly releases the lease, and the
// next replica takes over at its next attempt. The version of @kubernetes/client-node this project
// can use (1.4, see shared stack notes) ships no election helper.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../server/log.js';
import { failureOf, kubeRequest } from './kube-request.js';

export interface LeaderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How often the holder renews and the others try. */
  retryMs: number;
  logger: Logger;
  onChange(leading: boolean): void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  leading = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenewal = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderOptions) {}

  private get path(): string {
    const { namespace, name } = this.options;
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`;
  }

  start(): void {
    const loop = (): void => {
      this.running = this.attempt()
        .catch((err: unknown) => this.options.logger.warn('leader election attempt failed', { lease: `${this.options.namespace}/${this.options.name}`, error: (err as Error).message }))
        .then(() => {
          // A leader that could not renew for a whole lease duration may have been replaced: step down.
          if (this.leading && Date.now() - this.lastRenewal > this.options.leaseDurationSeconds * 1000) this.set(false);
          if (!this.stopped) this.timer = setTimeout(loop, this.options.retryMs);
        });
    };
    loop();
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.logger.info(leading ? 'became the leader: writing reports' : 'not the leader any more: reports left to the leader', { identity: this.options.identity, lease: `${this.options.namespace}/${this.options.name}` });
    this.options.onChange(leading);
  }

  private spec(previous: LeaseSpec | undefined, now: Date): LeaseSpec {
    const { identity, leaseDurationSeconds } = this.options;
    const keeps = previous?.holderIdentity === identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: keeps && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (keeps || !previous?.holderIdentity ? 0 : 1),
    };
  }

  private async attempt(): Promise<void> {
    const { kubeConfig, namespace, name, identity } = this.options;
    const now = new Date();
    const got = await kubeRequest(kubeConfig, 'GET', this.path);
    if (got.status === 404) {
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.spec(undefined, now) };
      const created = await kubeRequest(kubeConfig, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`, body);
      if (created.status === 201) this.renewed();
      else if (created.status !== 409) throw failureOf(`create lease ${namespace}/${name}`, created);
      return;
    }
    if (got.status !== 200) throw failureOf(`read lease ${namespace}/${name}`, got);
    const lease = got.body as Lease;
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const held = spec.holderIdentity !== undefined && spec.holderIdentity !== '';
    const expired = Date.now() - this.observed.at > (spec.leaseDurationSeconds ?? this.options.leaseDurationSeconds) * 1000;
    if (held && spec.holderIdentity !== identity && !expired) {
      this.set(false);
      return;
    }
    const updated = await kubeRequest(kubeConfig, 'PUT', this.path, { ...lease, spec: this.spec(spec, now) });
    if (updated.status === 200) this.renewed();
    else if (updated.status === 409) this.set(false);
    else throw failureOf(`update lease ${namespace}/${name}`, updated);
  }

  private renewed(): void {
    this.lastRenewal = Date.now();
    this.set(true);
  }

  /** Stops trying; a leader releases the lease so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    try {
      const got = await kubeRequest(this.options.kubeConfig, 'GET', this.path);
      const lease = got.body as Lease;
      if (got.status === 200 && lease.spec?.holderIdentity === this.options.identity) {
        await kubeRequest(this.options.kubeConfig, 'PUT', this.path, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } });
      }
    } catch (err) {
      this.options.logger.warn('could not release the lease; another replica takes over once it expires', { error: (err as Error).message });
    }
    this.set(false);
  }
}
