// A small HTTP(S) GET for registry calls on node:http(s): a per-client CA bundle, a hard timeout
// on the whole exchange and a cap on the body size, none of which fetch() gives without undici.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  ca?: string | Buffer;
}

export function httpGet(url: URL, options: HttpOptions): Promise<HttpResponse> {
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: options.headers, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          req.destroy(new Error(`response from ${url.host} is larger than ${options.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`)), options.timeoutMs);
    // A registry call never keeps the process alive: callers wait on their own budget, and a
    // lookup still running at exit (a hung registry after the scan's budget) is abandoned.
    timer.unref();
    req.on('socket', (socket) => socket.unref());
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}
