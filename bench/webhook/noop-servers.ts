// The benchmark's baselines, answering every POST with an allowing AdmissionReview:
//   https:   node:https, the body read and dropped, a fixed answer (the floor of any Node webhook);
//   express: Express 5 with express.json(), the way a webhook is usually written.
// Usage: node noop-servers.js https|express PORT CERT_FILE KEY_FILE
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import express from 'express';

const [kind, port, certFile, keyFile] = process.argv.slice(2);
const tls: ServerOptions = { cert: readFileSync(certFile!), key: readFileSync(keyFile!), minVersion: 'TLSv1.2' };
const allow = (uid: unknown) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });

if (kind === 'https') {
  const answer = allow('fixed');
  createServer(tls, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  }).listen(Number(port), '127.0.0.1');
} else if (kind === 'express') {
  const app = express();
  app.post('/validate', express.json({ limit: '3mb' }), (req, res) => {
    res.type('application/json').send(allow((req.body as { request?: { uid?: unknown } }).request?.uid));
  });
  createServer(tls, app).listen(Number(port), '127.0.0.1');
} else {
  process.stderr.write('usage: noop-servers.js https|express PORT CERT_FILE KEY_FILE\n');
  process.exitCode = 2;
}
