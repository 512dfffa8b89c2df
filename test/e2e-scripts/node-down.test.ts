// e2e/scripts/node-down.sh --stale runs at the start of every run with a node, to clean up after a
// run killed before its teardown. It must not take down the node of a run that is still going (a
// second run started by mistake would otherwise tear the first one's node away under it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '../../e2e/support/paths.js';

/** This process's start time as node-up.sh records it (/proc/PID/stat field 22). */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19]!;
}

describe('e2e/scripts/node-down.sh --stale', function () {
  let state: string;
  beforeEach(function () {
    state = mkdtempSync(join(tmpdir(), 'gapguard-node-state-'));
  });
  afterEach(function () {
    rmSync(state, { recursive: true, force: true });
  });

  it('leaves a node alone while the run that owns it lives: exit 3, nothing touched, the owner named', function () {
    writeFileSync(join(state, 'workdir'), '/tmp/gapguard-e2e-not-a-real-workdir\n');
    writeFileSync(join(state, 'owner'), `${process.pid} ${startTime(process.pid)}\n`);
    const r = spawnSync(join(repoRoot, 'e2e/scripts/node-down.sh'), ['--stale'], { env: { ...process.env, GAPGUARD_E2E_NODE_STATE: state }, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stderr).to.contain(`belongs to a run still going (pid ${process.pid}`);
    expect(readdirSync(state).sort()).to.deep.equal(['owner', 'workdir']);
  });

  it('does nothing without a recorded node', function () {
    const r = spawnSync(join(repoRoot, 'e2e/scripts/node-down.sh'), ['--stale'], { env: { ...process.env, GAPGUARD_E2E_NODE_STATE: state }, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
  });
});
