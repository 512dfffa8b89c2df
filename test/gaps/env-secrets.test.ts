// env-secrets through the engine: literal credentials by name and by format, secrets delivered
// through the environment, the look-alikes that must pass, and the rule that no finding ever
// carries a secret value.
import { expect } from 'chai';
import { evaluate } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/types.js';
import type { KubeObject } from '../../src/workloads/locate.js';
import { makeContext } from '../helpers.js';
import { describeFixtures, findingsOf, fixture, fixtureDocs, valueAt } from './gap-fixtures.js';

const LITERAL = 'env-secrets/literal-secret';
const REFERENCE = 'env-secrets/secret-reference';

/** A Pod whose one container has the given env entries. */
function podWithEnv(env: unknown[], envFrom?: unknown[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1', env, ...(envFrom ? { envFrom } : {}) }] },
  };
}

function literal(name: string, value: string): Finding[] {
  return findingsOf(podWithEnv([{ name, value }]), 'env-secrets');
}

describeFixtures('env-secrets', {
  'literal-secrets': [
    `${LITERAL} @ spec.initContainers[0].env[0].value`,
    `${LITERAL} @ spec.containers[0].env[0].value`,
    `${LITERAL} @ spec.containers[0].env[2].value`,
    `${LITERAL} @ spec.containers[0].env[3].value`,
    `${LITERAL} @ spec.containers[0].env[4].value`,
    `${LITERAL} @ spec.ephemeralContainers[0].env[0].value`,
  ],
  'nightly-report': [0, 1, 2, 3].map((i) => `${LITERAL} @ spec.jobTemplate.spec.template.spec.containers[0].env[${i}].value`),
  'secret-references': [
    `${REFERENCE} @ spec.template.spec.containers[0].env[0].valueFrom`,
    `${REFERENCE} @ spec.template.spec.containers[0].envFrom[1].secretRef`,
  ],
  'notifier-template': [`${LITERAL} @ template.spec.containers[0].env[0].value`],
  'legacy-api': [`${REFERENCE} @ spec.template.spec.containers[0].envFrom[0].secretRef`],
  postgres: [`${LITERAL} @ spec.template.spec.containers[0].env[1].value`],
  'datadog-agent': [`${LITERAL} @ spec.template.spec.containers[0].env[0].value`],
  's3-sync': [`${REFERENCE} @ spec.template.spec.containers[0].env[0].valueFrom`, `${REFERENCE} @ spec.template.spec.containers[0].env[1].valueFrom`],
  'redis-client': [`${LITERAL} @ spec.template.spec.containers[0].env[0].value`],
  'less-obvious-literals': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => `${LITERAL} @ spec.containers[0].env[${i}].value`),
});

describe('env-secrets', () => {
  describe('findings', () => {
    it('denies literal secrets as high, without a fix, and says which container, variable and why', () => {
      const findings = findingsOf(fixture('env-secrets', 'fail', 'literal-secrets'), 'env-secrets');
      for (const f of findings) expect(f).to.include({ rule: LITERAL, severity: 'high', action: 'deny', fixable: false });
      const messages = findings.map((f) => f.message);
      expect(messages[0]).to.contain('Container "migrate"').and.contain('GITHUB_TOKEN').and.contain('GitHub token');
      expect(messages[1]).to.contain('Container "api"').and.contain('DB_PASSWORD').and.contain('named like a credential');
      expect(messages[3]).to.contain('BACKUP_TARGET').and.contain('AWS access key id');
      expect(messages[4]).to.contain('TLS_KEY').and.contain('PEM private key');
      expect(messages[5]).to.contain('Container "debugger"').and.contain('MYSQL_ROOT_PASSWORD');
      expect(findings[0]!.remediation).to.contain('`secret` volume').and.contain('Rotate');
    });

    it('recognises a URL with a password and a JWT whatever the variable is called', () => {
      const findings = findingsOf(fixture('env-secrets', 'fail', 'nightly-report'), 'env-secrets');
      expect(findings[0]!.message).to.contain('URL with a password');
      expect(findings[1]!.message).to.contain('JSON Web Token');
    });

    it('warns about secrets delivered through valueFrom.secretKeyRef and envFrom.secretRef, pointing at a secret volume', () => {
      const findings = findingsOf(fixture('env-secrets', 'fail', 'secret-references'), 'env-secrets');
      for (const f of findings) expect(f).to.include({ rule: REFERENCE, severity: 'medium', action: 'warn', fixable: false });
      expect(findings[0]!.message).to.contain('DB_PASSWORD').and.contain('Secret "db"');
      expect(findings[0]!.remediation).to.contain('`secret` volume').and.contain('tmpfs').and.contain('/run/secrets/db');
      expect(findings[1]!.message).to.contain('Secret "web-secrets"');
    });
  });

  describe('never reveals a secret value', () => {
    it('keeps every flagged value out of the whole result, messages and remediations included', () => {
      let checked = 0;
      for (const { obj } of fixtureDocs('env-secrets', 'fail')) {
        const result = evaluate(obj, makeContext())!;
        const json = JSON.stringify(result);
        const flagged = result.findings.filter((f) => f.rule === LITERAL);
        for (const f of flagged) {
          const value = valueAt(obj, f.path);
          expect(value, f.path).to.be.a('string').with.length.above(3);
          for (const line of (value as string).split('\n').filter((l) => l.trim().length > 3)) {
            expect(json, `${f.path} leaks`).not.to.contain(line.trim());
          }
          checked++;
        }
      }
      expect(checked).to.equal(25);
    });
  });

  describe('literal secrets by name', () => {
    const credentialNames = ['DB_PASSWORD', 'db_passwd', 'REDIS_PWD', 'SMTP_PASS', 'CLIENT_SECRET', 'AUTH_TOKEN', 'apiKey',
      'API_KEY', 'APIKey', 'X_APIKEY', 'SSH_PRIVATE_KEY', 'AWS_SECRET_ACCESS_KEY', 'GOOGLE_CREDENTIALS', 'REDIS_AUTH',
      'NEW_RELIC_LICENSE_KEY', 'Password2'];
    for (const name of credentialNames) {
      it(`flags ${name} with a literal value`, () => {
        expect(literal(name, 'q8-Zx!m2').map((f) => f.rule)).to.deep.equal([LITERAL]);
      });
    }

    const harmless: [string, string][] = [
      ['PASSWORD_MIN_LENGTH', '12'],
      ['ENABLE_TOKEN_AUTH', 'true'],
      ['TOKEN_AUTH', 'FALSE'],
      ['AUTH_TOKEN', '   '],
      ['DB_PASSWORD_FILE', '/run/secrets/db-password'],
      ['TLS_PRIVATE_KEY', './certs/tls.key'],
      ['DB_PASSWORD', '$(DB_PASSWORD_FROM_VAULT)'],
      ['API_KEY', '${API_KEY}'],
      ['CREDENTIALS', '$(USER):$(PASS)'],
      ['TOKEN_ENDPOINT', 'https://auth.example.com/oauth/token'],
      ['AUTH_SERVER', 'https://auth.example.com'],
      ['SECRET_NAME', 'db-credentials'],
      ['TOKEN_TIMEOUT', '30s'],
      ['PASSWORD_POLICY', 'strong'],
      ['KEYCLOAK_HOST', 'keycloak.auth.svc'],
      ['SORT_KEY', 'created_at'],
      ['REGISTRY_AUTH', 'htpasswd'],
      ['SMTP_AUTH', 'LOGIN'],
    ];
    for (const [name, value] of harmless) {
      it(`passes ${name}=${JSON.stringify(value)}`, () => {
        expect(literal(name, value)).to.deep.equal([]);
      });
    }

    it('flags a *_FILE variable that holds a secret instead of a path', () => {
      expect(literal('DB_PASSWORD_FILE', 'hunter2')).to.have.length(1);
    });

    it('tells an auth mechanism from a credential only for auth names: DB_PASSWORD=password is a password', () => {
      expect(literal('DB_PASSWORD', 'password')).to.have.length(1);
      expect(literal('REDIS_AUTH', 'password')).to.deep.equal([]);
    });
  });

  describe('literal secrets by format, whatever the name', () => {
    const formats: [string, string][] = [
      ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
      ['AWS temporary key id', 'ASIAY34FZKBOKMUTVV7A'],
      ['GitHub token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
      ['GitLab token', 'glpat-xXxXxXxXxXxXxXxXxXxX'],
      ['Slack token', 'xoxb-123456789012-1234567890123-abcdefghij'],
      ['Stripe live key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
      ['Stripe restricted key', 'rk_live_4eC39HqLyjWDarjtT1zdp7dc'],
      ['PEM private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'],
      ['JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dGVzdA'],
      ['URL with a password', 'amqp://guest:guest-pw@rabbitmq:5672/'],
      ['Slack webhook URL', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
      ['Google API key', 'AIzaSyA-testonly-testonly-testonly-1234'],
      ['npm token', 'npm_abcdefghijklmnopqrstuvwxyz0123456789'],
      ['SendGrid API key', 'SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'],
      ['GitHub refresh token', 'ghr_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitHub server-to-server token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitLab runner token', 'glrt-t1_AbCdEfGhIjKlMnOpQrStUvWxYz0.01abcdefg'],
      ['GitLab legacy runner registration token', 'GR1348941AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab deploy token', 'gldt-AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab pipeline trigger token', 'glptt-0123456789abcdef0123456789abcdef01234567'],
      ['GitLab SCIM token', 'glsoat-AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab OAuth application secret', `gloas-${'a1'.repeat(32)}`],
      ['GitLab CI/CD job token', 'glcbt-64_AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab feed token', 'glft-AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab incoming mail token', 'glimt-AbCdEfGhIjKlMnOpQrStUvWxY'],
      ['GitLab agent token', `glagent-${'Ab'.repeat(25)}`],
      ['GitLab feature flags client token', 'glffct-AbCdEfGhIjKlMnOpQrSt'],
      ['GitLab session cookie', '_gitlab_session=0123456789abcdef0123456789abcdef'],
      ['Slack user token', 'xoxp-123456789012-1234567890123-abcdefghij'],
      ['Slack workspace token', 'xoxa-2-123456789012-abcdefghij'],
      ['Slack refresh token', 'xoxr-123456789012-abcdefghij'],
      ['Slack legacy session token', 'xoxs-123456789012-abcdefghij'],
      ['Slack rotated configuration token', 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAxMg'],
      ['Slack configuration refresh token', 'xoxe-1-My0xLTEyMzQ1Njc4OTAxMg'],
      ['Slack app-level token', 'xapp-1-A0123456789-0123456789012-abcdef'],
      ['Slack workflow webhook URL', 'https://hooks.slack.com/workflows/T00000000/A00000000/123/abc'],
      ['Stripe test secret key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'],
      ['Stripe test restricted key', 'rk_test_4eC39HqLyjWDarjtT1zdp7dc'],
      ['Stripe webhook signing secret', 'whsec_4eC39HqLyjWDarjtT1zdp7dc'],
      ['ADO.NET connection string', 'Server=tcp:db.shop,1433;Initial Catalog=orders;User ID=app;Password=Tr0ub4dor&3;'],
      ['ODBC connection string', 'Driver={PostgreSQL};Server=db;Uid=app;Pwd=Tr0ub4dor;'],
      ['JDBC connection string', 'jdbc:sqlserver://db:1433;databaseName=orders;user=app;password=Tr0ub4dor'],
      ['quoted connection string password', 'Host=db;Username=app;Password="Tr0ub 4dor";'],
      ['Go MySQL DSN', 'app:Tr0ub4dor@tcp(db:3306)/orders'],
      ['Go MySQL DSN over a socket', 'root:Tr0ub4dor@unix(/run/mysqld/mysqld.sock)/orders'],
      ['Azure storage key', 'DefaultEndpointsProtocol=https;AccountName=shop;AccountKey=dGVzdG9ubHl0ZXN0b25seXRlc3Q=;EndpointSuffix=core.windows.net'],
    ];
    for (const [label, value] of formats) {
      it(`flags the ${label} format in an innocently named variable`, () => {
        const findings = literal('UPSTREAM', value);
        expect(findings.map((f) => f.rule)).to.deep.equal([LITERAL]);
        expect(findings[0]!.message).to.contain('in the format of');
      });
    }

    const notFormats = ['AKIA-not-a-key', 'ghp_short', 'https://user@example.com/', 'redis://:$(REDIS_PASSWORD)@redis:6379',
      'eyJ-only-one-part', '-----BEGIN CERTIFICATE-----', 'pk_live_4eC39HqLyjWDarjtT1zdp7dc', 'pk_test_4eC39HqLyjWDarjtT1zdp7dc',
      'glpat-short', 'xoxq-123456789012-abcdefghij', 'Server=db;User Id=app;Password=;', 'Server=db;Password=${DB_PASSWORD};',
      'Server=db;Password=%s;', 'Server=db;Password=<password>;', 'Server=db;Password=****;', 'PWD=/home/app',
      'app@tcp(db:3306)/orders', 'app:$(DB_PASSWORD)@tcp(db:3306)/orders', 'PASSWORD_MIN_LENGTH=12', 'user=app;dbpassword'];
    for (const value of notFormats) {
      it(`passes ${JSON.stringify(value)} in an innocently named variable`, () => {
        expect(literal('UPSTREAM', value)).to.deep.equal([]);
      });
    }

    it('judges an entry whose name is null (as YAML writes a missing one) by its value alone', () => {
      expect(findingsOf(podWithEnv([{ name: null, value: 'hunter2-but-longer' }]), 'env-secrets')).to.deep.equal([]);
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
      const findings = findingsOf(podWithEnv([{ name: null, value: jwt }]), 'env-secrets');
      expect(findings.map((f) => [f.rule, f.path])).to.deep.equal([[LITERAL, 'spec.containers[0].env[0].value']]);
      expect(findings[0]!.message).to.include('env[0]').and.not.include(jwt);
    });

    it('judges hostile megabyte values in linear time, whatever the name', () => {
      const hostile = ['eyJ-', 'a+', 'x://a:', '-----BEGIN ', 'a:', ':a', 'Pwd= ;', 'password=;', 'xoxe.', 'glrt'].map((unit) => unit.repeat(Math.ceil(1_000_000 / unit.length)));
      // A backtracking blow-up takes minutes on a megabyte; a linear scan a fraction of a second each.
      // CPU time, not wall time: other processes on a loaded machine stretch the one, not the other.
      const judged = (name: string, value: string): Finding[] => {
        const started = process.cpuUsage();
        const findings = literal(name, value);
        const used = process.cpuUsage(started);
        expect((used.user + used.system) / 1000, `${name}=${value.slice(0, 12)}... (CPU ms)`).to.be.below(1000);
        return findings;
      };
      for (const value of hostile) expect(judged('UPSTREAM', value)).to.deep.equal([]);
      for (const value of [`Bearer ${' '.repeat(1_000_000)}x`, `/${'a/'.repeat(500_000)} x`, `$(A)${'$('.repeat(500_000)}`]) {
        expect(judged('DB_PASSWORD', value)).to.have.length(1);
      }
    });
  });

  describe('credential names, run together and abbreviated', () => {
    const credentialNames = ['CLIENTSECRET', 'APITOKEN', 'DBPASS', 'ADMIN_PW', 'SMTP_PW', 'rootpwd', 'AppSecret', 'GITHUBTOKEN', 'DB_PWORD', 'ldapPass'];
    for (const name of credentialNames) {
      it(`reads ${name} as a credential name`, () => {
        expect(literal(name, 'Qx7-not-a-format').map((f) => f.rule)).to.deep.equal([LITERAL]);
      });
    }
    const otherNames = ['PROXY_BYPASS', 'COMPASS_HEADING', 'PW_TEST_HTML_REPORT_OPEN', 'PWA_MODE', 'CLIENTSECRET_NAME', 'APITOKEN_URL', 'SECRETARY', 'TOKENIZER', 'PWD', 'OLDPWD'];
    for (const name of otherNames) {
      it(`does not read ${name} as one`, () => {
        expect(literal(name, 'Qx7-not-a-format')).to.deep.equal([]);
      });
    }

    it('lets a *_FILE name hold any path, and any credential name a path beyond doubt, but not a value that merely starts with /', () => {
      for (const path of ['/run/secrets/db', 'C:\\secrets\\db.txt', 'D:/secrets/db', '\\\\srv\\share\\db', '/db', './db', '~/db']) {
        expect(literal('DB_PASSWORD_FILE', path), path).to.deep.equal([]);
      }
      for (const path of ['/run/secrets/db', '/key.json', './db', '~/.pgpass']) expect(literal('DB_PASSWORD', path), path).to.deep.equal([]);
      for (const value of ['/Xk9pQ2vLw', '/hunter2', 'C:\\secrets\\db.txt']) expect(literal('DB_PASSWORD', value), value).to.have.length(1);
    });
  });

  describe('secret references', () => {
    it('points at the valueFrom of each secretKeyRef and names the Secret', () => {
      const findings = findingsOf(podWithEnv([{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), 'env-secrets');
      expect(findings.map((f) => [f.rule, f.path])).to.deep.equal([[REFERENCE, 'spec.containers[0].env[0].valueFrom']]);
    });

    it('ignores configMap and field references', () => {
      const findings = findingsOf(
        podWithEnv(
          [{ name: 'TOKEN', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }, { name: 'SECRET', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          [{ configMapRef: { name: 'c' } }],
        ),
        'env-secrets',
      );
      expect(findings).to.deep.equal([]);
    });
  });
});
