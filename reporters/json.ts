// results.json: the whole run as data, secrets redacted — for CI, for `labcheck report` to render it
// again and for `labcheck diff` to compare two runs. The plan, then a result a line: its flat fields
// for people and scripts, and what the other reporters need besides (format 2; 1 is still read).
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { UsageError } from '../src/errors.js';
import { redactedJson } from '../src/run/redact.js';
import type { Prediction } from '../src/model/predict.js';
import type { Plan, PlanCheck } from '../src/plan/types.js';
import type { CheckResult, Reporter, RunSummary } from '../src/run/types.js';

export const FORMAT = 'labcheck-results/2';
/** Formats `labcheck report` and `labcheck diff` read: 1 kept every fact of a result two or three times. */
const READABLE = ['labcheck-results/1', FORMAT];

/**
 * A result as the file has it: flat fields for people and scripts, and beside them only what those do not say — the
 * check's position and options, the probe's evidence, the rest of the model's prediction. Each fact once: a 300-host
 * run's 89,700 results took 98 MB when the check, the result and the prediction were also written whole.
 */
const resultJson = (r: CheckResult) => {
	const { id, step, from, to, probe, expect, ...check } = r.check;
	const { status, detail, ms, mismatch, seenFrom, ...result } = r.result;
	const { outcome, path, ...prediction } = r.predicted ?? ({} as Partial<Prediction>);
	return {
		id,
		step,
		from,
		to,
		probe,
		expect,
		actual: r.actual,
		passed: r.passed,
		status,
		detail,
		mismatch,
		seenFrom,
		ms,
		explanation: r.explanation,
		predicted: outcome,
		predictedPath: path,
		check,
		result,
		prediction: r.predicted ? prediction : undefined,
	};
};

type Row = ReturnType<typeof resultJson>;

/** A saved result back as the run had it; format 1's whole objects fill in the same way. */
const fromRow = (r: Row): CheckResult => ({
	check: { id: r.id, step: r.step, from: r.from, to: r.to, probe: r.probe, expect: r.expect, ...r.check },
	result: defined({
		status: r.status,
		detail: r.detail,
		ms: r.ms,
		mismatch: r.mismatch,
		seenFrom: r.seenFrom,
		...r.result,
	}),
	actual: r.actual,
	passed: r.passed,
	explanation: r.explanation,
	predicted:
		r.predicted === undefined
			? undefined
			: ({ outcome: r.predicted, path: r.predictedPath, ...r.prediction } as Prediction),
});

/** `value` without its undefined fields (JSON has none to give back). */
const defined = <T extends object>(value: T): T =>
	Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

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
type Saved = ReturnType<typeof headJson> & { results: Row[] };

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
		results: data.results.map(fromRow),
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
	if (runs.some((r) => !READABLE.includes(r?.format)))
		throw new UsageError(`${file} is not a labcheck results file (written by \`labcheck run --json\`)`);
	return runs.map(fromJson);
}

// Where the head's two long lists go: written an item a line, not pretty-printed with the rest (a 300-host plan's
// checks took 34 MB so).
const LIST = { checks: '\u0000labcheck list: checks', results: '\u0000labcheck list: results' };

/**
 * Writes the runs, a check or a result a piece: a big run (89,700 results) made into one string would be copied three
 * times over (as data, redacted, as text) — a gigabyte. `made` has the texts made during the run; they are written
 * as they are, a thousand pieces a system call.
 */
async function writeRuns(path: string, runs: RunSummary[], made: Made): Promise<void> {
	// The file's pieces, in order: mostly the texts made during the run, referred to, not copied.
	const pieces: Buffer[] = [];
	const add = (text: string | Buffer) => pieces.push(typeof text === 'string' ? Buffer.from(text) : text);
	const list = <T>(items: T[], text: (item: T) => string | Buffer, depth: number) => {
		const [first, next] = ['[', ','].map((mark) => Buffer.from(`${mark}\n${'  '.repeat(depth + 1)}`));
		for (const [i, item] of items.entries()) {
			add(i > 0 ? next : first);
			add(text(item));
		}
		add(items.length > 0 ? `\n${'  '.repeat(depth)}]` : '[]');
	};
	const many = runs.length > 1;
	if (many) add('[\n');
	for (const [k, run] of runs.entries()) {
		const head = redactedJson(
			{ ...headJson(run), plan: { ...run.plan, checks: LIST.checks }, results: LIST.results },
			2,
		);
		const [start, rest] = head.split(JSON.stringify(LIST.checks));
		const [middle, end] = rest.split(JSON.stringify(LIST.results));
		add(start);
		const checks: Array<PlanCheck | Buffer> = (await made.checks.get(run.plan)) ?? run.plan.checks;
		list(checks, (c) => (Buffer.isBuffer(c) ? c : redactedJson(c)), 2);
		add(middle);
		list(run.results, (r) => made.results.get(r) ?? resultText(r), 1);
		add(`${end}${many && k < runs.length - 1 ? ',' : ''}\n`);
	}
	if (many) add(']\n');
	const file = await open(path, 'w');
	try {
		await writeAll(file, pieces);
	} finally {
		await file.close();
	}
}

/** Writes `pieces` in order, as many at once as one system call takes (IOV_MAX), finishing any partial write. */
async function writeAll(file: FileHandle, pieces: Buffer[]): Promise<void> {
	const IOV_MAX = 1024;
	let at = 0;
	while (at < pieces.length) {
		const batch = pieces.slice(at, at + IOV_MAX);
		let { bytesWritten } = await file.writev(batch);
		for (const piece of batch) {
			if (bytesWritten >= piece.length) {
				bytesWritten -= piece.length;
				at++;
			} else {
				pieces[at] = piece.subarray(bytesWritten); // the rest of a piece written in part goes next
				break;
			}
		}
	}
}

const resultText = (r: CheckResult) => Buffer.from(redactedJson(resultJson(r)));

/** Texts made while the lab is built and probed, kept as UTF-8 (half the memory of a string). */
interface Made {
	checks: WeakMap<Plan, Promise<Buffer[]>>;
	results: WeakMap<CheckResult, Buffer>;
}

/** The plan's checks as text, a few thousand at a time: made while the lab is built, its other work goes on. */
async function checkTexts(checks: PlanCheck[]): Promise<Buffer[]> {
	const texts: Buffer[] = [];
	for (const [i, c] of checks.entries()) {
		if (i % 2048 === 2047) await new Promise((resolve) => setImmediate(resolve));
		texts.push(Buffer.from(redactedJson(c)));
	}
	return texts;
}

export function jsonReporter(path: string): Reporter {
	const runs: RunSummary[] = [];
	// The plan's checks are made into text while the lab is built, each result's as it ends; the file is written at
	// the end of each run, results in the plan's order. At the end only the writing is left: a 300-host run's 89,700
	// checks alone had taken a third of a second there, with nothing else to do meanwhile.
	const made: Made = { checks: new WeakMap(), results: new WeakMap() };
	return {
		onRunStart(plan) {
			const texts = checkTexts(plan.checks);
			texts.catch(() => {}); // awaited when the file is written
			made.checks.set(plan, texts);
		},
		onCheckEnd(result) {
			made.results.set(result, resultText(result));
		},
		async onRunEnd(summary) {
			runs.push(summary);
			await writeRuns(path, runs, made);
		},
	};
}
