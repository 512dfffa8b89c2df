// Pods created through the apiserver in loops, for the scenarios that change gapguard under load
// (certificate rotation, restarts, rolling updates): kubectl, a process per request, is too slow.
import { ApiClient } from './api.js';
import { pod, type PodSpec } from './objects.js';
import { env } from './suite.js';

export interface Load {
  created: number;
  failures: string[];
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  stop(): Promise<void>;
}

export interface LoadOptions {
  /** Made to the clean Pod; without it every create should succeed. */
  change?: (spec: PodSpec) => void;
  dryRun?: boolean;
  /** Pause of each worker between its requests, for a steady rate; none by default. */
  intervalMs?: number;
}

/** `workers` loops creating Pods in the namespace through the apiserver until stopped. */
export function startLoad(namespace: string, workers: number, options: LoadOptions = {}): Load {
  const e = env();
  const client = new ApiClient({ server: e.apiServer, caFile: e.apiServerCaFile, token: e.token, maxSockets: workers });
  let running = true;
  const load = {
    created: 0,
    failures: [] as string[],
    statuses: {} as Record<string, number>,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      client.close();
    },
  };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const manifest = pod('load', options.change);
      (manifest.metadata as Record<string, unknown>) = { generateName: 'load-', labels: { app: 'load' } };
      try {
        const r = await client.send('POST', `/api/v1/namespaces/${namespace}/pods${options.dryRun ? '?dryRun=All' : ''}`, manifest);
        load.statuses[r.status] = (load.statuses[r.status] ?? 0) + 1;
        if (r.status === 201) load.created++;
        else load.failures.push(`${r.status} ${r.body.slice(0, 400)}`);
      } catch (err) {
        load.failures.push((err as Error).message);
      }
      if (options.intervalMs) await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    }
  });
  return load;
}
