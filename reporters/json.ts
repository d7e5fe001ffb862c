// report.json: the whole run as data, secrets redacted — for CI and for re-rendering.
import { writeFile } from 'node:fs/promises';
import { redact } from '../src/run/redact.js';
import type { Reporter, RunSummary } from '../src/run/types.js';

export const toJson = (summary: RunSummary) => ({
	scenario: summary.plan.file,
	name: summary.plan.name,
	labId: summary.labId,
	startedAt: summary.startedAt,
	durationMs: Math.round(summary.durationMs),
	passed: summary.passed,
	failed: summary.failed,
	environment: summary.environment,
	plan: summary.plan,
	actions: summary.actions.map((a) => ({ step: a.step, action: a.action.text, expect: a.action.expect, ok: a.result.ok, passed: a.passed, detail: a.result.detail })),
	results: summary.results.map((r) => ({
		id: r.check.id, step: r.check.step, from: r.check.from, to: r.check.to, probe: r.check.probe, options: r.check.options,
		expect: r.check.expect, actual: r.actual, passed: r.passed, status: r.result.status,
		detail: r.result.detail, mismatch: r.result.mismatch, seenFrom: r.result.seenFrom, ms: r.result.ms,
		explanation: r.explanation, evidence: r.result.evidence,
	})),
});

export function jsonReporter(path: string): Reporter {
	const runs: unknown[] = [];
	return {
		async onRunEnd(summary) {
			runs.push(redact(toJson(summary)));
			await writeFile(path, `${JSON.stringify(runs.length === 1 ? runs[0] : runs, null, 2)}\n`);
		},
	};
}
