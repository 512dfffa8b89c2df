// GET over HTTPS from a gapguard server, trusting only the given CA (PEM): on 127.0.0.1 for the
// out-of-cluster server, or a Pod's address from the node's host with the Service's name checked.
import { request } from 'node:https';

export interface HttpsTarget {
  host: string;
  port: number;
  /** The name the certificate must carry (SNI and identity check); the host otherwise. */
  servername?: string;
}

export function https(target: HttpsTarget, path: string, caPem: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: target.host, port: target.port, servername: target.servername, path, ca: caPem, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Readyz {
  status: number;
  body: { status?: string; cluster?: string; policy?: { sha256?: string }; certificate?: { notAfter?: string } };
}

/** GET /readyz, trusting only the given CA. */
export async function readyz(target: HttpsTarget, caPem: string): Promise<Readyz> {
  const r = await https(target, '/readyz', caPem, 2000);
  return { status: r.status, body: JSON.parse(r.body) as Readyz['body'] };
}
