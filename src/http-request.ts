// One HTTP(S) request and its whole answer on node:http(s), for the calls that are not the
// Kubernetes client's: registry lookups, and the Lease, report and list calls to the API server
// (cluster/kube-request.ts). A hard timeout on the whole exchange, not only on an idle socket (a
// server that trickles its answer is cut off too), and a cap on the body; fetch() gives neither
// without undici.
import { request as plainRequest, type IncomingHttpHeaders } from 'node:http';
import { request as tlsRequest, type RequestOptions } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  /** Who answers within timeoutMs, for the errors: "no answer from NAME within ...". */
  peer?: string;
  /** TLS and credentials as node:https takes them: a CA bundle, or what a kubeconfig gives. */
  tls?: RequestOptions;
  /**
   * Whether a request still running may keep the process alive. Registry lookups may not: callers
   * wait on their own budget, and one still running at exit (a registry that hangs after the
   * scan's budget) is abandoned. A Lease release at shutdown must.
   */
  holdsProcess: boolean;
}

export function httpRequest(url: URL, options: HttpOptions): Promise<HttpResponse> {
  const send = url.protocol === 'http:' ? plainRequest : tlsRequest;
  const peer = options.peer ?? url.host;
  const headers = { ...(options.tls?.headers as Record<string, string> | undefined), ...options.headers };
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = send(url, { ...options.tls, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          req.destroy(new Error(`response from ${peer} is larger than ${options.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${peer} within ${options.timeoutMs} ms`)), options.timeoutMs);
    if (!options.holdsProcess) {
      timer.unref();
      req.on('socket', (socket) => socket.unref());
    }
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(options.body);
  });
}
