// Limits on connections, as a hostile client would test them: TLS suites that are not offered, a
// handshake never finished, more connections than the server takes; and keep-alive, as the
// kube-apiserver uses it.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { insecurePod } from '../admission/objects.js';
import { admitVia, metricValue, reviewOf, send, startTestServer, type TestServer } from './harness.js';

function handshake(server: TestServer, options: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', servername: 'localhost', port: server.port, ca: server.ca, ...options }, () => {
      resolve(socket.getCipher().name);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.on('error', () => {});
  });
}

describe('server: TLS suites and connection limits', function () {
  this.timeout(30_000);

  it('offers no CBC and no SHA-1 suites by default, and takes a cipher list of its own', async () => {
    const server = await startTestServer();
    try {
      expect(await handshake(server, { maxVersion: 'TLSv1.2' })).to.match(/GCM|CHACHA20/);
      // The test certificate has an EC key: these are the CBC and SHA-1 suites it could otherwise use.
      for (const legacy of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
        const err = await handshake(server, { maxVersion: 'TLSv1.2', ciphers: legacy }).then(() => undefined, (e: Error) => e);
        expect(err?.message, legacy).to.match(/handshake failure|no shared cipher|alert/i);
      }
    } finally {
      await server.close();
    }
    const custom = await startTestServer({ tlsCiphers: 'ECDHE-ECDSA-AES256-SHA384' });
    try {
      expect(await handshake(custom, { maxVersion: 'TLSv1.2' })).to.equal('ECDHE-ECDSA-AES256-SHA384');
    } finally {
      await custom.close();
    }
  });

  it('closes a connection that does not finish its TLS handshake in time', async () => {
    const server = await startTestServer({ handshakeTimeoutMs: 1000 });
    try {
      const silent = tcpConnect(server.port, '127.0.0.1');
      expect(await closedWithin(silent, 5000)).to.equal(true);
      expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed).to.equal(false);
    } finally {
      await server.close();
    }
  });

  it('closes connections past its limit at once and keeps serving those it holds', async () => {
    const server = await startTestServer({ maxConnections: 3 });
    const held: Socket[] = [];
    try {
      // The test client's own keep-alive connection is one of the three.
      expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed).to.equal(false);
      for (let i = 0; i < 2; i++) {
        const socket = tcpConnect(server.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        held.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      const extra = tcpConnect(server.port, '127.0.0.1');
      expect(await closedWithin(extra, 3000)).to.equal(true);
      expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed).to.equal(false);
    } finally {
      for (const socket of held) socket.destroy();
      await server.close();
    }
  });

  it('keeps an idle keep-alive connection open past the 5 s Node closes one after by default, and counts handshakes', async function () {
    this.timeout(60_000);
    const server = await startTestServer();
    const handshakes = async () => metricValue((await server.get('/metrics')).text, 'gapguard_tls_handshakes_total', {});
    try {
      expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed).to.equal(false);
      expect(await handshakes()).to.equal(1);
      // The kube-apiserver keeps an idle connection 90 s: one the server closed after 5 s would
      // cost its next call a handshake, or reset it if the close crossed the POST.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect((await admitVia(server, '/validate', reviewOf(insecurePod()))).allowed).to.equal(false);
      expect(await handshakes()).to.equal(1);
      // A client that does not keep its connection: one more.
      expect((await send({ port: server.port, ca: server.ca, path: '/healthz' })).status).to.equal(200);
      expect(await handshakes()).to.equal(2);
    } finally {
      await server.close();
    }
  });
});
