// results.xml: JUnit for CI — a test suite per scenario, a test case per expectation and per step
// action, failures carrying the evidence; a lab that could not be built is a failing case of its own.
import { writeFile } from 'node:fs/promises';
import { redactText } from '../src/run/redact.js';
import type { Reporter, RunSummary } from '../src/run/types.js';
import { verdictOf } from '../src/run/verdict.js';
import { evidenceLines } from './evidence.js';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderJunit(
	summaries: RunSummary[],
	infrastructure: Array<{ scenario: string; message: string }> = [],
): string {
	const suites = summaries.map((s) => {
		const stepName = (k: number) => (k === 0 ? '' : ` [step ${k}: ${s.plan.steps[k - 1].name}]`);
		const cases = [
			...s.results.map((r) => {
				const name = `${r.check.id}: ${r.check.expect}${stepName(r.check.step)}`;
				const body = r.passed
					? ''
					: `\n      <failure message="${xml(`measured ${r.actual}${r.explanation ? `: ${r.explanation}` : ''}`)}" type="${r.result.status}">${xml(redactText(evidenceLines(r).join('\n')))}</failure>\n    `;
				return `    <testcase classname="${xml(s.plan.file)}" name="${xml(name)}" time="${(r.result.ms / 1000).toFixed(3)}">${body}</testcase>`;
			}),
			...s.actions.map((a) => {
				const body = a.passed
					? ''
					: `\n      <failure message="${xml(a.result.detail)}" type="action">${xml(a.result.detail)}</failure>\n    `;
				return `    <testcase classname="${xml(s.plan.file)}" name="${xml(`${a.action.text}: ${a.action.expect}${stepName(a.step)}`)}" time="0">${body}</testcase>`;
			}),
		];
		if (s.interrupted) {
			const text = verdictOf(s).text;
			cases.push(
				`    <testcase classname="${xml(s.plan.file)}" name="the run" time="0">\n      <error message="${xml(text)}" type="interrupted">${xml(text)}</error>\n    </testcase>`,
			);
		}
		const tests = cases.length;
		return `  <testsuite name="${xml(s.plan.name)}" tests="${tests}" failures="${s.failed}" errors="${s.interrupted ? 1 : 0}" time="${(s.durationMs / 1000).toFixed(3)}" timestamp="${s.startedAt}">\n${cases.join('\n')}\n  </testsuite>`;
	});
	for (const broken of infrastructure) {
		suites.push(
			`  <testsuite name="${xml(broken.scenario)}" tests="1" failures="0" errors="1" time="0">\n    <testcase classname="${xml(broken.scenario)}" name="build the lab" time="0">\n      <error message="${xml(broken.message)}" type="infrastructure">${xml(broken.message)}</error>\n    </testcase>\n  </testsuite>`,
		);
	}
	const total = (k: 'tests' | 'failures' | 'errors') =>
		suites.reduce((n, x) => n + Number(new RegExp(`${k}="(\\d+)"`).exec(x)![1]), 0);
	return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="labcheck" tests="${total('tests')}" failures="${total('failures')}" errors="${total('errors')}">\n${suites.join('\n')}\n</testsuites>\n`;
}

export function junitReporter(
	path: string,
): Reporter & { onInfrastructureError(scenario: string, error: Error): Promise<void> } {
	const runs: RunSummary[] = [];
	const broken: Array<{ scenario: string; message: string }> = [];
	return {
		async onRunEnd(summary) {
			runs.push(summary);
			await writeFile(path, renderJunit(runs, broken));
		},
		async onInfrastructureError(scenario, error) {
			broken.push({ scenario, message: redactText(error.message) });
			await writeFile(path, renderJunit(runs, broken));
		},
	};
}
