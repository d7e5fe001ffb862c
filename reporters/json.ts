// results.json: the whole run as data, secrets redacted — for CI, for `labcheck report` to render it
// again and for `labcheck diff` to compare two runs. Flat fields for people and scripts, plus the
// check, result and plan objects the other reporters need.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { UsageError } from '../src/errors.js';
import { redactedJson } from '../src/run/redact.js';
import type { CheckResult, Reporter, RunSummary } from '../src/run/types.js';

export const FORMAT = 'labcheck-results/1';

const resultJson = (r: RunSummary['results'][number]) => ({
	id: r.check.id,
	step: r.check.step,
	from: r.check.from,
	to: r.check.to,
	probe: r.check.probe,
	expect: r.check.expect,
	actual: r.actual,
	passed: r.passed,
	status: r.result.status,
	detail: r.result.detail,
	mismatch: r.result.mismatch,
	seenFrom: r.result.seenFrom,
	ms: r.result.ms,
	explanation: r.explanation,
	predicted: r.predicted?.outcome,
	predictedPath: r.predicted?.path,
	check: r.check,
	result: r.result,
	prediction: r.predicted,
});

const headJson = (summary: RunSummary) => ({
	format: FORMAT,
	scenario: summary.plan.file,
	name: summary.plan.name,
	labId: summary.labId,
	startedAt: summary.startedAt,
	durationMs: summary.durationMs,
	passed: summary.passed,
	failed: summary.failed,
	interrupted: summary.interrupted,
	notRun: summary.notRun,
	environment: summary.environment,
	machines: summary.machines,
	plan: summary.plan,
	actions: summary.actions.map((a) => ({
		step: a.step,
		action: a.action.text,
		expect: a.action.expect,
		ok: a.result.ok,
		passed: a.passed,
		detail: a.result.detail,
		planAction: a.action,
	})),
});

/** A run as results.json has it (`writeRuns`). */
type Saved = ReturnType<typeof headJson> & { results: Array<ReturnType<typeof resultJson>> };

/** A saved run back as the summary the reporters render. */
export function fromJson(data: Saved): RunSummary {
	return {
		plan: data.plan,
		labId: data.labId,
		startedAt: data.startedAt,
		durationMs: data.durationMs,
		passed: data.passed,
		failed: data.failed,
		environment: data.environment,
		machines: data.machines,
		interrupted: data.interrupted,
		notRun: data.notRun,
		actions: data.actions.map((a) => ({
			step: a.step,
			action: a.planAction,
			result: { ok: a.ok, detail: a.detail },
			passed: a.passed,
		})),
		results: data.results.map((r) => ({
			check: r.check,
			result: r.result,
			actual: r.actual,
			passed: r.passed,
			explanation: r.explanation,
			predicted: r.prediction,
		})),
	};
}

export async function readResults(file: string): Promise<RunSummary[]> {
	let data: unknown;
	try {
		data = JSON.parse(await readFile(file, 'utf8'));
	} catch (error) {
		const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
		throw new UsageError(`cannot read results ${file}: ${why}`);
	}
	const runs = (Array.isArray(data) ? data : [data]) as Saved[];
	if (runs.some((r) => r?.format !== FORMAT))
		throw new UsageError(`${file} is not a labcheck results file (written by \`labcheck run --json\`)`);
	return runs.map(fromJson);
}

/**
 * Writes the runs, one result at a time: a big run (89,700 results) would otherwise be copied
 * three times over (as data, redacted, as one string) — a gigabyte. `written` has the results already made.
 */
async function writeRuns(path: string, runs: RunSummary[], written: WeakMap<CheckResult, Buffer>): Promise<void> {
	const out = createWriteStream(path);
	// Written in pieces of about a megabyte.
	let pending: Buffer[] = [];
	let size = 0;
	const write = async (text: string | Buffer, flush = false) => {
		const piece = typeof text === 'string' ? Buffer.from(text) : text;
		pending.push(piece);
		size += piece.length;
		if (size < 1_000_000 && !flush) return;
		const chunk = Buffer.concat(pending);
		pending = [];
		size = 0;
		if (!out.write(chunk)) await once(out, 'drain');
	};
	const many = runs.length > 1;
	if (many) await write('[\n');
	for (const [k, run] of runs.entries()) {
		const head = redactedJson({ ...headJson(run), results: [] }, 2);
		await write(`${head.slice(0, head.lastIndexOf('[]'))}[`);
		for (const [i, r] of run.results.entries()) {
			await write(i > 0 ? ',\n    ' : '\n    ');
			await write(written.get(r) ?? resultText(r));
		}
		await write(`${run.results.length > 0 ? '\n  ' : ''}]\n}${many && k < runs.length - 1 ? ',' : ''}\n`);
	}
	await write(many ? ']\n' : '', true);
	out.end();
	await finished(out);
}

const resultText = (r: CheckResult) => Buffer.from(redactedJson(resultJson(r)));

export function jsonReporter(path: string): Reporter {
	const runs: RunSummary[] = [];
	// Each result's text is made as it ends — while probes run, labcheck's own process mostly waits — and kept as
	// UTF-8 (half the memory of the string); the file is written at the end of each run, results in the plan's order.
	const written = new WeakMap<CheckResult, Buffer>();
	return {
		onCheckEnd(result) {
			written.set(result, resultText(result));
		},
		async onRunEnd(summary) {
			runs.push(summary);
			await writeRuns(path, runs, written);
		},
	};
}
