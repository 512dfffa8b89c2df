import { expect } from 'chai';
import { isDigest, parseImageReference, repositoryName, type ImageReference } from '../../src/images/reference.js';

const HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const DIGEST = `sha256:${HEX}`;

function parsed(text: string): ImageReference {
  const result = parseImageReference(text);
  if (!result.ok) throw new Error(`${text}: ${result.problem}`);
  return result.ref;
}

function problem(text: string): string {
  const result = parseImageReference(text);
  if (result.ok) throw new Error(`${text} parsed as ${JSON.stringify(result.ref)}`);
  return result.problem;
}

describe('image references', () => {
  describe('parse by the distribution rules', () => {
    const cases: [string, ImageReference][] = [
      ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
      ['library/nginx:latest', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
      ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['index.docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['bitnami/redis:7.2', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7.2' }],
      ['localhost/app', { registry: 'localhost', repository: 'app' }],
      ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app' }],
      ['localhost:5000/app:v1', { registry: 'localhost:5000', repository: 'app', tag: 'v1' }],
      ['registry.example.com/team/app', { registry: 'registry.example.com', repository: 'team/app' }],
      ['registry.example.com:5000/team/app:2.0', { registry: 'registry.example.com:5000', repository: 'team/app', tag: '2.0' }],
      ['[fd00::1]:5000/app:1', { registry: '[fd00::1]:5000', repository: 'app', tag: '1' }],
      // Host names compare case-insensitively: one spelling for every comparison.
      ['Registry.Example.com/app', { registry: 'registry.example.com', repository: 'app' }],
      ['MYHOST/app', { registry: 'myhost', repository: 'app' }],
      // Docker Hub's other names are Docker Hub, official images included.
      ['registry-1.docker.io/nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
      ['Index.Docker.io/bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis' }],
      ['DOCKER.IO/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
      ['docker.io:443/nginx', { registry: 'docker.io:443', repository: 'nginx' }],
      ['registry-2.docker.io/nginx', { registry: 'registry-2.docker.io', repository: 'nginx' }],
      ['team/app', { registry: 'docker.io', repository: 'team/app' }],
      ['a/b/c/d', { registry: 'docker.io', repository: 'a/b/c/d' }],
      ['my_app/some-thing__x.v2', { registry: 'docker.io', repository: 'my_app/some-thing__x.v2' }],
      [`nginx@${DIGEST}`, { registry: 'docker.io', repository: 'library/nginx', digest: DIGEST }],
      [`nginx:1.27@${DIGEST}`, { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: DIGEST }],
      [`localhost:5000/app@${DIGEST}`, { registry: 'localhost:5000', repository: 'app', digest: DIGEST }],
      [`app@sha512:${HEX}${HEX}`, { registry: 'docker.io', repository: 'library/app', digest: `sha512:${HEX}${HEX}` }],
      ['nginx:V1_rc.2-x', { registry: 'docker.io', repository: 'library/nginx', tag: 'V1_rc.2-x' }],
    ];
    for (const [text, ref] of cases) {
      it(`parses ${text}`, () => {
        expect(parsed(text)).to.deep.equal(ref);
      });
    }
  });

  describe('refuse what the runtimes refuse', () => {
    const bad: [string, string][] = [
      ['', 'empty'],
      ['Nginx', 'must be lowercase'],
      ['team/App:1', 'must be lowercase'],
      [`nginx@sha256:${HEX.slice(1)}`, 'malformed'],
      [`nginx@sha256:${HEX}0`, 'malformed'],
      [`nginx@sha256:${HEX.toUpperCase()}`, 'malformed'],
      [`nginx@sha256:${HEX.slice(1)}g`, 'malformed'],
      ['nginx@sha256:', 'malformed'],
      ['nginx@', 'malformed'],
      [`nginx@md5:${HEX.slice(0, 32)}`, 'malformed'],
      [`nginx@${DIGEST}@${DIGEST}`, 'malformed'],
      [`nginx@${HEX}`, 'malformed'],
      [HEX, '64-hex image ID'],
      ['nginx:', 'tag'],
      ['nginx:-1', 'tag'],
      [`nginx:${'t'.repeat(129)}`, 'tag'],
      ['-bad.example.com/app', 'registry host'],
      ['bad_host.example.com/app', 'registry host'],
      ['my_app.v2/app', 'registry host'],
      ['localhost:port/app', 'registry host'],
      ['team//app', 'repository'],
      ['/app', 'repository'],
      ['app/', 'repository'],
      ['team/-app', 'repository'],
      ['team/app..x', 'repository'],
      ['ngi nx', 'repository'],
      [`registry.example.com/${'a'.repeat(250)}`, 'longer than 255'],
      ['a'.repeat(700), 'longer than any valid'],
    ];
    for (const [text, why] of bad) {
      it(`refuses ${text.length > 60 ? `${text.slice(0, 40)}... (${text.length} chars)` : JSON.stringify(text)}`, () => {
        expect(problem(text)).to.contain(why);
      });
    }
  });

  it('recognises digests exactly', () => {
    expect(isDigest(DIGEST)).to.equal(true);
    expect(isDigest(`sha384:${HEX}${HEX.slice(0, 32)}`)).to.equal(true);
    expect(isDigest(`sha256:${HEX.toUpperCase()}`)).to.equal(false);
    expect(isDigest(`${DIGEST}\n`)).to.equal(false);
    expect(isDigest(`x${DIGEST}`)).to.equal(false);
  });

  it('names a reference by registry and repository', () => {
    expect(repositoryName(parsed('nginx:1.27'))).to.equal('docker.io/library/nginx');
    expect(repositoryName(parsed('localhost:5000/app'))).to.equal('localhost:5000/app');
  });
});
