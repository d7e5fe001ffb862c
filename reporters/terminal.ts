// Terminal output: progress while the lab builds, a line per check, then the matrix with mismatches in red.
import chalk from 'chalk';
import type { Reporter, RunSummary } from '../src/run/types.js';
import type { CheckResult } from '../src/run/types.js';
import { verdictOf } from '../src/run/verdict.js';
import { pathOf } from '../src/model/predict.js';
import { buildMatrix, byStep, type Cell, cellText, sourceGroups } from './matrix.js';

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length));

export function terminalReporter(
	options: { quiet?: boolean; verbose?: boolean; out?: (line: string) => void; tty?: boolean; columns?: number } = {},
): Reporter {
	// On a terminal, a status line (what is being built, probes done/total) stays under the output;
	// in a pipe or a CI log, every event is a plain line of its own.
	const tty = options.tty ?? (Boolean(process.stdout.isTTY) && !options.out);
	let status = '';
	let done = 0;
	let total = 0;
	const write = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
	const out = (line: string) => {
		if (tty && status) process.stdout.write('\r\x1b[2K');
		write(line);
		if (tty && status) process.stdout.write(chalk.dim(status));
	};
	const setStatus = (text: string) => {
		if (!tty || options.quiet) return;
		status = text;
		process.stdout.write(`\r\x1b[2K${chalk.dim(text)}`);
	};
	return {
		onRunStart(plan) {
			total = plan.checks.length;
			done = 0;
			if (!options.quiet)
				out(chalk.bold(`▶ ${plan.name}`) + chalk.dim(` (${plan.file}, ${plan.checks.length} checks)`));
		},
		onProgress(line) {
			if (options.verbose) out(chalk.dim(`  ${line}`));
			else setStatus(`  … ${line}`);
		},
		onStepStart(step, index) {
			if (!options.quiet) out(chalk.bold(`── step ${index}: ${step.name}`));
		},
		onActionEnd(a) {
			if (options.quiet && a.passed) return;
			const mark = a.passed ? chalk.green('✓') : chalk.red('✖');
			const how = a.result.ok ? 'done' : 'refused';
			const expected = a.passed
				? ''
				: chalk.red(` — expected ${a.action.expect === 'ok' ? 'it to succeed' : 'a refusal'}`);
			out(`  ${mark} ${pad(a.action.text, 34)} ${how}${expected} ${chalk.dim(a.result.detail)}`);
		},
		onCheckEnd(r) {
			done++;
			setStatus(`  … probes ${done}/${total}`);
			if (options.quiet && r.passed) return;
			const mark = r.passed ? chalk.green('✓') : chalk.red('✖');
			const outcome = r.actual === 'unreachable' ? `unreachable (${r.result.status})` : r.actual;
			const expected = r.passed ? '' : chalk.red(` — expected ${r.check.expect}`);
			out(`  ${mark} ${pad(r.check.id, 34)} ${outcome}${expected} ${chalk.dim(`${r.result.ms.toFixed(0)} ms`)}`);
			if (!r.passed || options.verbose)
				out(chalk.dim(`      ${r.result.detail}${r.explanation ? `\n      why: ${r.explanation}` : ''}`));
			if (r.predicted && r.predicted.outcome !== r.actual)
				out(chalk.yellow(`      the model predicted ${r.predicted.outcome}: ${pathOf(r.predicted)}`));
		},
		onRunEnd(summary: RunSummary) {
			if (tty && status) process.stdout.write('\r\x1b[2K');
			status = '';
			// -q: the verdict and what failed, no matrix.
			for (const step of options.quiet ? [] : byStep(summary.plan, summary.results)) {
				if (!step.results.some((r) => r.check.probe !== 'exec')) continue;
				out(
					step.name ? `\n${chalk.bold(step.index === 0 ? 'as built' : `after step ${step.index}: ${step.name}`)}` : '',
				);
				printMatrix(summary, step.results, out, options.columns ?? terminalColumns());
			}
			if (!options.quiet)
				out(chalk.dim(`✓ reachable  ✗ unreachable  ${chalk.bgRed.white(' red ')} differs from the expectation`));
			const { ok, text } = verdictOf(summary);
			const verdict = summary.interrupted
				? chalk.yellow.bold(`■ ${text}`)
				: ok
					? chalk.green.bold(`✔ ${text}`)
					: chalk.red.bold(`✖ ${text}`);
			const where = summary.machines
				? `on the real machines of ${summary.machines.inventory}, ` +
					`${summary.machines.contacted.length} endpoints contacted`
				: `lab ${summary.labId}`;
			out(`\n${verdict} ${chalk.dim(`in ${(summary.durationMs / 1000).toFixed(2)} s (${where})`)}`);
		},
	};
}

/** The terminal's width; in a pipe or a CI log, COLUMNS or 160. */
const terminalColumns = () => process.stdout.columns || Number(process.env.COLUMNS) || 160;

export function printMatrix(
	summary: RunSummary,
	results: CheckResult[],
	out: (line: string) => void,
	columns = Number.POSITIVE_INFINITY,
): void {
	const matrix = buildMatrix(summary.plan, results);
	// A cell with several probes ("✓ tcp:50000 ✓ tcp:50004 ✗ tcp:50005") would widen every column: past
	// NARROW characters, a cell is one mark per probe, in the order of a legend printed above the matrix.
	const label = (c: Cell) => `${c.probe}${c.port ? `:${c.port}` : ''}`;
	const labels: string[] = [];
	let widest = 0;
	for (const row of matrix.rows)
		for (const column of matrix.columns) {
			const cell = matrix.cell(row, column);
			widest = Math.max(widest, cell.map(cellText).join(' ').length);
			for (const c of cell) if (!labels.includes(label(c))) labels.push(label(c));
		}
	const marks = widest > NARROW && labels.length > 1;
	const text = (cell: Cell[]) =>
		marks
			? labels
					.map((l) => cell.find((c) => label(c) === l))
					.map((c) => (c ? (c.reachable ? '✓' : '✗') : '·'))
					.join('')
			: cell.map(cellText).join(' ');
	// A loop, not Math.max(...cells): a big lab has more cells than a call may have arguments.
	let width = 10;
	for (const name of [...matrix.rows, ...matrix.columns]) width = Math.max(width, name.length + 2);
	width = Math.max(width, (marks ? labels.length : widest) + 2);
	if (width * (matrix.columns.length + 1) > columns) {
		printSummary(matrix, results, out, width, columns);
		return;
	}
	if (marks) out(chalk.dim(`each cell: one mark per probe, in this order: ${labels.join(' ')}  (· not checked)`));
	out(`${pad('from \\ to', width)}${matrix.columns.map((c) => chalk.bold(pad(c, width))).join('')}`);
	for (const row of matrix.rows) {
		const cells = matrix.columns.map((column) => {
			const cell = matrix.cell(row, column);
			const colour =
				cell.length === 0
					? chalk.dim
					: cell.every((c) => c.passed)
						? cell.every((c) => c.reachable)
							? chalk.green
							: chalk.yellow
						: chalk.bgRed.white;
			return colour(pad(cell.length === 0 ? '·' : text(cell), width));
		});
		out(`${chalk.bold(pad(row, width))}${cells.join('')}`);
	}
}

const FAILING_SHOWN = 20;
const NARROW = 24;

/**
 * A matrix too wide for the terminal, summarised: sources that behave alike collapsed into one line (how many cells
 * reachable, unreachable, failing), then the failing cells.
 */
function printSummary(
	matrix: ReturnType<typeof buildMatrix>,
	results: CheckResult[],
	out: (line: string) => void,
	width: number,
	columns: number,
): void {
	const wide = width * (matrix.columns.length + 1);
	out(
		chalk.dim(
			`${matrix.rows.length} × ${matrix.columns.length} matrix, ${wide} columns wide (the terminal has ${columns}): ` +
				'a summary by source (the reports have every cell)',
		),
	);
	// Consecutive sources with the same counts are one line: "h1 … h150 (150 sources)".
	for (const g of sourceGroups(matrix)) {
		const who = g.n === 1 ? g.first : `${g.first} … ${g.last} (${g.n} sources)`;
		const counts = [
			g.reachable ? chalk.green(`✓ ${g.reachable}`) : '',
			g.unreachable ? chalk.yellow(`✗ ${g.unreachable}`) : '',
			g.failing ? chalk.bgRed.white(` ${g.failing} failing `) : chalk.dim('all held'),
		];
		out(`  ${chalk.bold(who)}: ${counts.filter(Boolean).join('  ')}`);
	}
	const failing = results.filter((r) => !r.passed && r.check.probe !== 'exec');
	for (const r of failing.slice(0, FAILING_SHOWN))
		out(chalk.red(`  ✖ ${r.check.id}: ${r.actual} (${r.result.status}), expected ${r.check.expect}`));
	if (failing.length > FAILING_SHOWN) out(chalk.red(`  … and ${failing.length - FAILING_SHOWN} more failing`));
}
