// Direct HTTPS requests to the kube-apiserver with the admin token, for load that kubectl (a process
// per request) cannot produce: the certificate rotation scenario and the end-to-end benchmark.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

export interface ApiClientOptions {
  server: string;
  caFile: string;
  token: string;
  /** Connections kept open to the apiserver. */
  maxSockets?: number;
}

export interface ApiResponse {
  status: number;
  body: string;
}

export class ApiClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly options: ApiClientOptions) {
    this.url = new URL(options.server);
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32, ca: readFileSync(options.caFile) });
  }

  send(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          timeout: 60_000,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
