// The read-only dashboard: the HTML report of the latest background audit run, over plain HTTP on
// its own port, by default on 127.0.0.1 only, so that it is reached with `kubectl port-forward`
// (which connects inside the pod) and from nowhere else. GET and HEAD only; no form, no script,
// nothing that changes anything. Pages are rendered once per audit run and served from memory: the
// front page holds one row per namespace, each namespace has its own page, so a cluster of
// thousands of workloads is never one huge page.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTENT_SECURITY_POLICY, htmlPage, renderNamespacePage, renderOverviewPage } from './html.js';
import type { RolloutView } from './rollout.js';

const HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

export interface Dashboard {
  readonly port: number;
  close(): Promise<void>;
}

const NAMESPACE_PREFIX = '/namespaces/';

export function namespacePath(name: string): string {
  return `${NAMESPACE_PREFIX}${encodeURIComponent(name)}`;
}

function send(res: ServerResponse, status: number, html: string, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...HEADERS, ...extra, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(head ? undefined : html);
}

/** Serves latest() (undefined until the first audit run has finished). */
export async function startDashboard(host: string, port: number, latest: () => RolloutView | undefined): Promise<Dashboard> {
  let renderedFor: RolloutView | undefined;
  let overview = '';
  let pages = new Map<string, string>();
  const render = (view: RolloutView): void => {
    if (view === renderedFor) return;
    renderedFor = view;
    overview = renderOverviewPage(view, namespacePath);
    pages = new Map();
  };
  const server: Server = createServer((req, res) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      send(res, 405, htmlPage('Method not allowed', '<h1>Read-only</h1><p>This dashboard only answers GET and HEAD.</p>'), false, { allow: 'GET, HEAD' });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    const view = latest();
    if (!view) {
      send(res, 503, htmlPage('gapguard: starting', '<h1>gapguard</h1><p>The first audit of the cluster has not finished yet. Reload in a few seconds.</p>'), head, { 'retry-after': '5' });
      return;
    }
    render(view);
    if (path === '/') {
      send(res, 200, overview, head);
      return;
    }
    if (path.startsWith(NAMESPACE_PREFIX)) {
      let name: string | undefined;
      try {
        name = decodeURIComponent(path.slice(NAMESPACE_PREFIX.length));
      } catch {
        name = undefined;
      }
      const ns = name === undefined ? undefined : view.namespaces.find((n) => n.name === name);
      if (ns) {
        let page = pages.get(ns.name);
        if (page === undefined) pages.set(ns.name, (page = renderNamespacePage(view, ns)));
        send(res, 200, page, head);
        return;
      }
    }
    send(res, 404, htmlPage('Not found', '<h1>Not found</h1><p>No such page, or no judged workload in that namespace. <a href="/">Back to the overview</a></p>'), head);
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
