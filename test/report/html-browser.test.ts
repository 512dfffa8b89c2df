// `gapguard scan --output html` opened in a real Chromium, as a person reads it: what the overview
// says about each namespace, the rollout answer, keyboard navigation, contrast, and that the page
// asks for nothing beyond itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { contrastRatios, openBrowser, type Browser } from '../browser.js';
import { repoRoot } from '../helpers.js';

describe('report: the HTML file in Chromium', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let html: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-html-'));
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'scan', '--output', 'html', 'test/fixtures/report/rollout.yaml'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(1);
    html = r.stdout;
    file = join(dir, 'report.html');
    writeFileSync(file, html);
    browser = await openBrowser();
    await browser.page.goto(pathToFileURL(file).href);
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows each namespace\'s gaps and whether it is ready for enforce', async () => {
    const { page } = browser;
    await browser.screenshot('html-file-overview');
    const shop = await page.getByRole('row', { name: /^shop/ }).innerText();
    const quiet = await page.getByRole('row', { name: /^quiet/ }).innerText();
    const headers = (await page.locator('thead tr').first().innerText()).split('\t').map((s) => s.trim());
    const cell = (row: string, gap: string): string => row.split('\t')[headers.indexOf(gap)]!.trim();
    expect(cell(shop, 'privileged')).to.equal('2');
    expect(cell(shop, 'resource-limits')).to.equal('4');
    expect(cell(shop, 'env-secrets')).to.equal('1');
    expect(cell(quiet, 'flat-network')).to.equal('1');
    expect(shop).to.include('1 denied').and.to.include('1 patched');
    expect(quiet).to.include('ready for enforce');
    const quietSection = page.getByRole('region', { name: 'Namespace quiet' });
    expect(await quietSection.innerText()).to.include('Ready for enforce');
    const shopSection = await page.getByRole('region', { name: 'Namespace shop' }).innerText();
    expect(shopSection).to.match(/Not ready for enforce\s+1 workload\(s\) would be denied, 1 would be patched/);
    expect(shopSection).to.match(/Enforce would deny:\s+Pod builder/);
    expect(shopSection).to.include('spec.containers[0].securityContext.privileged');
    expect(shopSection).to.include('Remove privileged: true');
  });

  it('never shows the secret value, and asks for nothing but the file', async () => {
    expect(await browser.page.locator('body').innerText()).not.to.include('hunter2');
    expect(html).not.to.include('hunter2');
    expect(browser.requests.filter((u) => !u.startsWith('file:'))).to.deep.equal([]);
    expect(readFileSync(file, 'utf8')).not.to.match(/<script|https?:\/\//);
  });

  it('works from the keyboard: skip link, then the namespace links', async () => {
    const { page } = browser;
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Skip to the report');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('quiet');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).to.equal('#ns-quiet');
    expect(await page.getByRole('heading', { name: 'Namespace quiet' }).boundingBox().then((b) => b !== null && b.y < 900)).to.equal(true);
    await browser.screenshot('html-file-keyboard');
  });

  it('has text contrast of at least 7:1 on badges, cells and body text', async () => {
    const ratios = await contrastRatios(browser.page, '.badge, td, th, p, a');
    expect(ratios.length).to.be.greaterThan(20);
    const poor = ratios.filter((r) => r.ratio < 7);
    expect(poor, JSON.stringify(poor.slice(0, 5))).to.deep.equal([]);
  });
});

describe('report: an HTML file too long to lay out at once, in Chromium', function () {
  this.timeout(60_000);
  let dir: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gapguard-html-'));
    // 160 bare Pods, 7 findings each: past FOLD_ABOVE_FINDINGS (1,000).
    const pods = Array.from({ length: 160 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: bare-${i}, namespace: crowd}\nspec:\n  containers: [{name: app, image: nginx}]\n`);
    writeFileSync(join(dir, 'crowd.yaml'), pods.join('---\n'));
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'scan', '--output', 'html', join(dir, 'crowd.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(1);
    writeFileSync(join(dir, 'report.html'), r.stdout);
    browser = await openBrowser();
    await browser.page.goto(pathToFileURL(join(dir, 'report.html')).href);
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('folds each workload\'s findings under its heading, says so, and opens one from the keyboard', async () => {
    const { page } = browser;
    const section = page.getByRole('region', { name: 'Namespace crowd' });
    expect(await section.innerText()).to.include("Each workload's findings are folded (the page lists 1120 here)");
    // Every workload is listed, its findings hidden until opened.
    expect(await page.getByRole('heading', { name: /^Pod bare-\d+/ }).count()).to.equal(160);
    const first = page.locator('details.workload').first();
    expect(await first.locator('summary').innerText()).to.match(/^Pod bare-0 would be denied \(.*crowd\.yaml:1\)\s+7 finding\(s\)$/);
    expect(await first.getByRole('table').isVisible()).to.equal(false);
    await first.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await first.getByRole('table').isVisible()).to.equal(true);
    expect(await first.getByRole('table').innerText()).to.include('spec.containers[0].image');
    await browser.screenshot('html-file-folded');
  });
});
