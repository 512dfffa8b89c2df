// The benchmarks' baselines, answering every POST with an allowing AdmissionReview:
//   https:     node:https, the body read and dropped, a fixed answer (the floor of TLS and HTTP);
//   https-json: node:https, the body read and parsed with JSON.parse, a fixed answer (the floor of
//              any Node webhook, which must at least parse the review);
//   https-uid: the same, echoing the request's uid found by a regex, as the kube-apiserver needs
//              (the floor of a webhook behind a real apiserver: TLS and HTTP, no JSON parse);
//   express:   Express 5 with express.json(), the way a webhook is usually written.
// Usage: node noop-servers.js https|https-json|https-uid|express PORT CERT_FILE KEY_FILE [HOST]
// HOST is 127.0.0.1 unless given (bench/startup runs it in a Pod, reached through a Service: 0.0.0.0).
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import express from 'express';

const [kind, port, certFile, keyFile, host = '127.0.0.1'] = process.argv.slice(2);
const tls: ServerOptions = { cert: readFileSync(certFile!), key: readFileSync(keyFile!), minVersion: 'TLSv1.2' };
const allow = (uid: unknown) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });

// The apiserver writes request.uid before the object, so the first "uid" in the body is the request's.
const FIRST_UID = /"uid":"([^"]*)"/;

if (kind === 'https' || kind === 'https-json' || kind === 'https-uid') {
  const fixed = allow('fixed');
  createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => kind !== 'https' && chunks.push(c));
    req.on('end', () => {
      if (kind === 'https-json') JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const answer = kind === 'https-uid' ? allow(FIRST_UID.exec(Buffer.concat(chunks).toString())?.[1]) : fixed;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  }).listen(Number(port), host);
} else if (kind === 'express') {
  const app = express();
  // Any path: the end-to-end benchmark points both webhook configurations (/mutate, /validate) here.
  app.post('/{*path}', express.json({ limit: '3mb' }), (req, res) => {
    res.type('application/json').send(allow((req.body as { request?: { uid?: unknown } }).request?.uid));
  });
  createServer(tls, app).listen(Number(port), host);
} else {
  process.stderr.write('usage: noop-servers.js https|https-json|https-uid|express PORT CERT_FILE KEY_FILE [HOST]\n');
  process.exitCode = 2;
}
