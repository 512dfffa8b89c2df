// The one engine every door calls: locate the pod spec, run every gap check, apply the policy's
// actions and exemptions, and compute the enabled fixes as one JSON Patch.
import { ALL_CHECKS } from '../gaps/index.js';
import type { Exemption, Policy } from '../policy/types.js';
import { locatePodTarget, objectName, type KubeObject } from '../workloads/locate.js';
import { formatPath } from '../workloads/paths.js';
import type { PodTarget } from '../workloads/types.js';
import { buildPatch } from './fix.js';
import { globMatch, imageMatch } from './match.js';
import type { CheckFinding, EvalContext, Finding, FixIntent, ObjectResult } from './types.js';

export interface EvaluateOptions {
  /** Namespace for objects that name none (the request's namespace at admission). */
  defaultNamespace?: string;
  /** Compute the fixes' JSON Patch (default true); callers that never apply it (validate, scan) skip the work. */
  patch?: boolean;
}

function anyMatch(patterns: string[] | undefined, value: string | undefined, match: (pattern: string, value: string) => boolean = globMatch): boolean {
  if (!patterns) return true;
  return value !== undefined && patterns.some((p) => match(p, value));
}

function exemptionCovers(ex: Exemption, pod: PodTarget, f: CheckFinding): boolean {
  return (
    ex.gaps.includes(f.gap) &&
    anyMatch(ex.match.namespaces, pod.namespace) &&
    anyMatch(ex.match.serviceAccounts, pod.serviceAccount) &&
    anyMatch(ex.match.names, pod.workloadName) &&
    anyMatch(ex.match.images, f.container?.container.image, imageMatch)
  );
}

function describeExemption(ex: Exemption): string {
  return `exemption #${ex.index} (${ex.reason})`;
}

/** The policy's action and fix switch for one rule of a gap. */
export function ruleSettings(policy: Policy, f: Pick<CheckFinding, 'gap' | 'rule'>): { action: Finding['action'] | 'off'; fix: boolean } {
  const gap = policy.gaps[f.gap];
  const rule = gap.rules[f.rule];
  return { action: rule?.action ?? gap.action, fix: rule?.fix ?? gap.fix };
}

/**
 * Evaluates one Kubernetes object. Returns null for kinds that carry no pod spec; throws
 * InputError or ShapeError when a judged kind is malformed.
 */
export function evaluate(obj: KubeObject, ctx: EvalContext, options: EvaluateOptions = {}): ObjectResult | null {
  const pod = locatePodTarget(obj, options.defaultNamespace ?? 'default');
  if (!pod) return null;
  const findings: Finding[] = [];
  const intents: FixIntent[] = [];
  const notes = new Set<string>();
  const now = ctx.now.getTime();

  for (const check of ALL_CHECKS) {
    if (ctx.policy.gaps[check.gap].action === 'off' && !hasRuleOverrides(ctx.policy, check.gap)) continue;
    for (const f of check.check(pod, ctx)) {
      const { action: ruled, fix } = ruleSettings(ctx.policy, f);
      if (ruled === 'off') continue;
      // A check may soften the policy's deny for one finding (CheckFinding.warnOnly), never harden a warn.
      const action = ruled === 'deny' && f.warnOnly ? 'warn' : ruled;
      let waived = false;
      for (const ex of ctx.policy.exemptions) {
        if (!exemptionCovers(ex, pod, f)) continue;
        if (ex.expires && ex.expires.getTime() < now) {
          notes.add(`${describeExemption(ex)} expired on ${ex.expires.toISOString().slice(0, 10)} and no longer applies`);
          continue;
        }
        notes.add(`${describeExemption(ex)} waives ${f.gap}`);
        waived = true;
        break;
      }
      if (waived) continue;
      const fixable = fix && f.fix !== undefined && f.fix.length > 0;
      if (fixable) intents.push(...f.fix!);
      const finding: Finding = {
        gap: f.gap,
        rule: f.rule,
        severity: f.severity,
        action,
        path: formatPath(f.path),
        segments: f.path,
        message: f.message,
        remediation: f.remediation,
        fixable,
      };
      if (f.detail) finding.detail = f.detail;
      findings.push(finding);
    }
  }

  return {
    kind: obj.kind as string,
    apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : '',
    namespace: pod.namespace,
    name: objectName(obj),
    findings,
    patch: intents.length && options.patch !== false ? buildPatch(obj, intents) : [],
    notes: [...notes],
  };
}

function hasRuleOverrides(policy: Policy, gap: keyof Policy['gaps']): boolean {
  return Object.values(policy.gaps[gap].rules).some((r) => r.action !== undefined && r.action !== 'off');
}
