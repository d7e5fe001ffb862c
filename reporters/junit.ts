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
				const message = `measured ${r.actual}${r.explanation ? `: ${r.explanation}` : ''}`;
				const body = r.passed
					? ''
					: inner('failure', message, r.result.status, redactText(evidenceLines(r).join('\n')));
				return testcase(s.plan.file, name, r.result.ms / 1000, body);
			}),
			...s.actions.map((a) => {
				const body = a.passed ? '' : inner('failure', a.result.detail, 'action', a.result.detail);
				return testcase(s.plan.file, `${a.action.text}: ${a.action.expect}${stepName(a.step)}`, 0, body);
			}),
		];
		if (s.interrupted) {
			const text = verdictOf(s).text;
			cases.push(testcase(s.plan.file, 'the run', 0, inner('error', text, 'interrupted', text)));
		}
		const tests = cases.length;
		const counts = `tests="${tests}" failures="${s.failed}" errors="${s.interrupted ? 1 : 0}"`;
		const time = `time="${(s.durationMs / 1000).toFixed(3)}" timestamp="${s.startedAt}"`;
		return `  <testsuite name="${xml(s.plan.name)}" ${counts} ${time}>\n${cases.join('\n')}\n  </testsuite>`;
	});
	for (const broken of infrastructure) {
		const error = inner('error', broken.message, 'infrastructure', broken.message);
		const build = testcase(broken.scenario, 'build the lab', 0, error);
		const suite = `  <testsuite name="${xml(broken.scenario)}" tests="1" failures="0" errors="1" time="0">`;
		suites.push(`${suite}\n${build}\n  </testsuite>`);
	}
	const total = (k: 'tests' | 'failures' | 'errors') =>
		suites.reduce((n, x) => n + Number(new RegExp(`${k}="(\\d+)"`).exec(x)![1]), 0);
	const counts = `tests="${total('tests')}" failures="${total('failures')}" errors="${total('errors')}"`;
	const head = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="labcheck" ${counts}>`;
	return `${head}\n${suites.join('\n')}\n</testsuites>\n`;
}

const testcase = (classname: string, name: string, seconds: number, body: string) =>
	`    <testcase classname="${xml(classname)}" name="${xml(name)}" time="${seconds.toFixed(3)}">${body}</testcase>`;

/** A failure or error inside a test case: its message, its type, and its text (the evidence). */
const inner = (tag: 'failure' | 'error', message: string, type: string, text: string) =>
	`\n      <${tag} message="${xml(message)}" type="${type}">${xml(text)}</${tag}>\n    `;

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
