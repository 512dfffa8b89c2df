// The rollout report as HTML: one self-contained file for `scan`/`audit --output html` (CI
// artifacts), and the same sections as pages of the dashboard. No script, no external request (the
// Content-Security-Policy forbids both), every value escaped. Accessible without effort from the
// reader: real tables with header cells and captions, a skip link, headings in order, a visible
// focus ring, and colours with a contrast ratio of at least 7:1 on their background. Findings
// never carry secret values (the engine's contract), and nothing else of an object is shown.
import { GAP_IDS } from '../engine/types.js';
import { findingOutcome, readyForEnforce, rolloutView, type JudgedObject, type NamespaceView, type RolloutView, type Verdict, type WorkloadView } from './rollout.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A fragment id for a namespace: any text (a manifest may name anything) to [A-Za-z0-9_-]. */
export function namespaceAnchor(name: string): string {
  return `ns-${[...name].map((c) => (/[A-Za-z0-9-]/.test(c) ? c : `_${c.codePointAt(0)!.toString(16)}_`)).join('')}`;
}

export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `
:root{color-scheme:light}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;padding:0 1.5rem 3rem;max-width:90rem}
a{color:#0b48a6}
a:focus-visible,summary:focus-visible{outline:3px solid #0b48a6;outline-offset:2px}
.skip{position:absolute;left:-10000px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
h1{font-size:1.6rem;margin:1.2rem 0 .3rem}h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:2px solid #d0d0d0}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
.meta{color:#3d3d3d}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #c4c4c4;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#efefef}
caption{text-align:left;font-weight:600;padding:.3rem 0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#4a4a4a}
td.hot{background:#fdecec;color:#7a0f0f;font-weight:700}
.badge{display:inline-block;padding:0 .45rem;border-radius:.3rem;font-weight:600;white-space:nowrap}
.deny{background:#fdecec;color:#7a0f0f}.patch{background:#fff3d6;color:#5a3a00}.warn{background:#eef1f6;color:#243b63}
.clean,.ready{background:#e5f4e8;color:#0a4d1a}
.answer{font-size:1.05rem;margin:.4rem 0}
code{font:13px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
td.remedy{white-space:pre-line}
details{margin:.3rem 0}summary{cursor:pointer}
details.workload>summary>h3,details.workload>summary>h2{display:inline}
.problems{border-left:4px solid #7a0f0f;padding-left:.8rem}
`;

interface PageOptions {
  /** Where a namespace's section is: `#ns-x` in the single file, `/namespaces/x` on the dashboard. */
  namespaceHref(name: string): string;
}

export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to the report</a>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

const VERDICT_TEXT: Record<Verdict, string> = { deny: 'would be denied', patch: 'would be patched', warn: 'warnings only', clean: 'no findings' };

function badge(verdict: Verdict): string {
  return `<span class="badge ${verdict}">${VERDICT_TEXT[verdict]}</span>`;
}

function workloadName(w: WorkloadView): string {
  return `${escapeHtml(w.kind)} ${escapeHtml(w.name)}`;
}

/** The rollout answer for one namespace, in words. */
function rolloutAnswer(ns: NamespaceView): string {
  if (readyForEnforce(ns)) return '<p class="answer"><span class="badge ready">Ready for enforce</span> no running workload would be denied or patched.</p>';
  const parts: string[] = [];
  if (ns.wouldDeny.length) parts.push(`${ns.wouldDeny.length} workload(s) would be denied`);
  if (ns.wouldPatch.length) parts.push(`${ns.wouldPatch.length} would be patched`);
  return `<p class="answer"><span class="badge deny">Not ready for enforce</span> ${parts.join(', ')} if this namespace were switched to enforce now.</p>`;
}

function header(view: RolloutView): string {
  const workloads = view.namespaces.reduce((n, ns) => n + ns.workloads.length, 0);
  const ready = view.namespaces.filter(readyForEnforce).length;
  return `<h1>gapguard report: ${escapeHtml(view.title)}</h1>
<p class="meta">Generated ${escapeHtml(view.generatedAt.toISOString())}. ${workloads} workload(s) judged in ${view.namespaces.length} namespace(s), ${ready} ready for enforce; ${view.skipped} object(s) not judged on their own.</p>
${problemsSection(view)}`;
}

function problemsSection(view: RolloutView): string {
  if (!view.problems.length) return '';
  const items = view.problems.map((p) => `<li><code>${escapeHtml(p.source)}</code>: ${escapeHtml(p.message)}</li>`).join('');
  return `<section class="problems" aria-labelledby="problems"><h2 id="problems">Could not be read or judged</h2><ul>${items}</ul></section>`;
}

/** The cluster (or the manifests) at a glance: namespaces × gaps, each namespace's mode and answer. */
function overviewSection(view: RolloutView, options: PageOptions): string {
  if (!view.namespaces.length) return '<p>Nothing was judged: no workload in the input.</p>';
  const head = GAP_IDS.map((g) => `<th scope="col">${escapeHtml(g)}</th>`).join('');
  const rows = view.namespaces.map((ns) => {
    const cells = GAP_IDS.map((g) => {
      const n = ns.gaps[g];
      return `<td class="n ${n ? 'hot' : 'zero'}">${n}</td>`;
    }).join('');
    const answer = readyForEnforce(ns)
      ? '<span class="badge ready">ready for enforce</span>'
      : [ns.wouldDeny.length ? `<span class="badge deny">${ns.wouldDeny.length} denied</span>` : '', ns.wouldPatch.length ? `<span class="badge patch">${ns.wouldPatch.length} patched</span>` : '']
          .filter(Boolean)
          .join(' ');
    return `<tr><th scope="row"><a href="${escapeHtml(options.namespaceHref(ns.name))}">${escapeHtml(ns.name)}</a></th><td>${escapeHtml(ns.mode ?? 'n/a')}</td><td class="n">${ns.workloads.length}</td>${cells}<td>${answer}</td></tr>`;
  });
  return `<section aria-labelledby="overview"><h2 id="overview">At a glance</h2>
<table>
<caption>Findings per namespace and gap, and what enforce mode would do to the running workloads</caption>
<thead><tr><th scope="col">namespace</th><th scope="col">mode</th><th scope="col">workloads</th>${head}<th scope="col">if switched to enforce</th></tr></thead>
<tbody>${rows.join('\n')}</tbody>
</table></section>`;
}

function findingsTable(w: WorkloadView): string {
  const rows = w.findings.map(
    (f) =>
      `<tr><td><span class="badge ${findingOutcome(f)}">${escapeHtml(f.action)}${f.fixable ? ', fixable' : ''}</span></td><td>${escapeHtml(f.severity)}</td><td><code>${escapeHtml(f.rule)}</code></td><td><code>${escapeHtml(f.path)}</code></td><td>${escapeHtml(f.message)}</td><td class="remedy">${escapeHtml(f.remediation)}</td></tr>`,
  );
  return `<table><caption>Findings of ${workloadName(w)}</caption>
<thead><tr><th scope="col">action</th><th scope="col">severity</th><th scope="col">rule</th><th scope="col">field</th><th scope="col">message</th><th scope="col">remedy</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

/**
 * A page listing more findings than this folds each workload's findings under its heading (a
 * <details> a reader opens, by keyboard too). Chromium lays out every row of an open table: the
 * 5,000-workload report (95,000 findings) took 107 s to load unfolded and 13 s folded on this
 * project's machine (bench/README.md, "HTML report").
 */
export const FOLD_ABOVE_FINDINGS = 1000;

function findingCount(workloads: readonly WorkloadView[]): number {
  return workloads.reduce((n, w) => n + w.findings.length, 0);
}

function workloadBlock(w: WorkloadView, h: string, fold: boolean): string {
  const notes = w.notes.length ? `<ul>${w.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  const heading = `<${h}>${workloadName(w)} ${badge(w.verdict)} <span class="meta">(${escapeHtml(w.source)})</span></${h}>`;
  if (!fold) return `${heading}\n${findingsTable(w)}${notes}`;
  return `<details class="workload"><summary>${heading} <span class="meta">${w.findings.length} finding(s)</span></summary>\n${findingsTable(w)}${notes}</details>`;
}

/**
 * One namespace: its mode, the rollout answer with the workloads it names, and every finding; with
 * fold, each workload's findings are behind its heading.
 */
function namespaceSection(ns: NamespaceView, fold: boolean, headingLevel: 2 | 1 = 2): string {
  const h = `h${headingLevel}`;
  const list = (label: string, ws: WorkloadView[]): string =>
    ws.length ? `<p>${label}:</p><ul>${ws.map((w) => `<li>${workloadName(w)}</li>`).join('')}</ul>` : '';
  const withFindings = ns.workloads.filter((w) => w.findings.length || w.notes.length);
  const clean = ns.workloads.filter((w) => !w.findings.length && !w.notes.length);
  const cleanList = clean.length
    ? `<details><summary>${clean.length} workload(s) with no findings</summary><ul>${clean.map((w) => `<li>${workloadName(w)}</li>`).join('')}</ul></details>`
    : '';
  return `<section id="${namespaceAnchor(ns.name)}" aria-labelledby="${namespaceAnchor(ns.name)}-h">
<${h} id="${namespaceAnchor(ns.name)}-h">Namespace ${escapeHtml(ns.name)}</${h}>
<p>Mode: <strong>${escapeHtml(ns.mode ?? 'n/a (manifests)')}</strong>. ${ns.workloads.length} workload(s) judged.</p>
${rolloutAnswer(ns)}
${list('Enforce would deny', ns.wouldDeny)}${list('Enforce would patch', ns.wouldPatch)}
${fold ? `<p class="meta">Each workload's findings are folded (the page lists ${findingCount(ns.workloads)} here): open a workload to read them.</p>\n` : ''}${withFindings.map((w) => workloadBlock(w, `h${headingLevel + 1}`, fold)).join('\n')}
${cleanList}
</section>`;
}

/**
 * `--output html` fed one judged object at a time, as the CLI's other outputs are: the overview
 * comes first in the page, so the results are kept (not the documents) and the page is written at
 * the end.
 */
export function htmlReporter(title: string): {
  object(o: JudgedObject): string;
  end(skipped: readonly unknown[], problems: readonly { source: string; message: string }[]): string;
} {
  const evaluated: JudgedObject[] = [];
  return {
    object({ source, result, mode }) {
      evaluated.push({ source, result, ...(mode !== undefined ? { mode } : {}) });
      return '';
    },
    end(skipped, problems) {
      return renderReportFile(rolloutView({ evaluated, skipped, problems }, title, new Date()));
    },
  };
}

/** The single self-contained file of `--output html`. */
export function renderReportFile(view: RolloutView): string {
  const options: PageOptions = { namespaceHref: (name) => `#${namespaceAnchor(name)}` };
  const fold = view.namespaces.reduce((n, ns) => n + findingCount(ns.workloads), 0) > FOLD_ABOVE_FINDINGS;
  const body = [header(view), overviewSection(view, options), ...view.namespaces.map((ns) => namespaceSection(ns, fold))].join('\n');
  return htmlPage(`gapguard report: ${view.title}`, body);
}

/** The dashboard's front page: the overview, namespaces linking to their own pages. */
export function renderOverviewPage(view: RolloutView, namespaceHref: (name: string) => string): string {
  return htmlPage(`gapguard: ${view.title}`, `${header(view)}\n${overviewSection(view, { namespaceHref })}`);
}

/** The dashboard's page for one namespace. */
export function renderNamespacePage(view: RolloutView, ns: NamespaceView): string {
  return htmlPage(`gapguard: namespace ${ns.name}`, `<p><a href="/">Back to the overview</a></p>\n${namespaceSection(ns, findingCount(ns.workloads) > FOLD_ABOVE_FINDINGS, 1)}\n<p class="meta">Generated ${escapeHtml(view.generatedAt.toISOString())}.</p>`);
}
