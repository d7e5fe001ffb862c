// Terminal output: progress while the lab builds, a line per check, then the matrix with mismatches in red.
import chalk from 'chalk';
import type { Reporter, RunSummary } from '../src/run/types.js';
import type { CheckResult } from '../src/run/types.js';
import { verdictOf } from '../src/run/verdict.js';
import { pathOf } from '../src/model/predict.js';
import { buildMatrix, byStep, cellText } from './matrix.js';

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length));

export function terminalReporter(
	options: { quiet?: boolean; verbose?: boolean; out?: (line: string) => void; tty?: boolean } = {},
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
			for (const step of byStep(summary.plan, summary.results)) {
				if (!step.results.some((r) => r.check.probe !== 'exec')) continue;
				out(
					step.name ? `\n${chalk.bold(step.index === 0 ? 'as built' : `after step ${step.index}: ${step.name}`)}` : '',
				);
				printMatrix(summary, step.results, out);
			}
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

export function printMatrix(summary: RunSummary, results: CheckResult[], out: (line: string) => void): void {
	const matrix = buildMatrix(summary.plan, results);
	// A loop, not Math.max(...cells): a big lab has more cells than a call may have arguments.
	let width = 10;
	for (const label of [...matrix.rows, ...matrix.columns]) width = Math.max(width, label.length + 2);
	for (const row of matrix.rows)
		for (const column of matrix.columns)
			width = Math.max(width, matrix.cell(row, column).map(cellText).join(' ').length + 2);
	out(`${pad('from \\ to', width)}${matrix.columns.map((c) => chalk.bold(pad(c, width))).join('')}`);
	for (const row of matrix.rows) {
		const cells = matrix.columns.map((column) => {
			const cell = matrix.cell(row, column);
			const text = cell.map(cellText).join(' ');
			const colour =
				cell.length === 0
					? chalk.dim
					: cell.every((c) => c.passed)
						? cell.every((c) => c.reachable)
							? chalk.green
							: chalk.yellow
						: chalk.bgRed.white;
			return colour(pad(cell.length === 0 ? '·' : text, width));
		});
		out(`${chalk.bold(pad(row, width))}${cells.join('')}`);
	}
}
