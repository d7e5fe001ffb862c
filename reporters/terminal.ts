// Terminal output: progress while the lab builds, a line per check, then the matrix with mismatches in red.
import chalk from 'chalk';
import type { Reporter, RunSummary } from '../src/run/types.js';
import { buildMatrix, cellText } from './matrix.js';

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length));

export function terminalReporter(options: { quiet?: boolean; verbose?: boolean; out?: (line: string) => void } = {}): Reporter {
	const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
	return {
		onRunStart(plan) {
			if (!options.quiet) out(chalk.bold(`▶ ${plan.name}`) + chalk.dim(` (${plan.file}, ${plan.checks.length} checks)`));
		},
		onProgress(line) {
			if (options.verbose) out(chalk.dim(`  ${line}`));
		},
		onCheckEnd(r) {
			if (options.quiet && r.passed) return;
			const mark = r.passed ? chalk.green('✓') : chalk.red('✖');
			const outcome = r.actual === 'reachable' ? 'reachable' : `unreachable (${r.result.status})`;
			const expected = r.passed ? '' : chalk.red(` — expected ${r.check.expect}`);
			out(`  ${mark} ${pad(r.check.id, 34)} ${outcome}${expected} ${chalk.dim(`${r.result.ms.toFixed(0)} ms`)}`);
			if (!r.passed || options.verbose) out(chalk.dim(`      ${r.result.detail}${r.explanation ? `\n      why: ${r.explanation}` : ''}`));
		},
		onRunEnd(summary: RunSummary) {
			const matrix = buildMatrix(summary.plan, summary.results);
			const width = Math.max(10, ...matrix.rows.map((r) => r.length + 2), ...matrix.columns.map((c) => c.length + 2),
				...summary.results.map((r) => cellText({ probe: r.check.probe, port: r.check.to.port, reachable: true, passed: true, expected: '' }).length * 2 + 3));
			out('');
			out(`${pad('from \\ to', width)}${matrix.columns.map((c) => chalk.bold(pad(c, width))).join('')}`);
			for (const row of matrix.rows) {
				const cells = matrix.columns.map((column) => {
					const cell = matrix.cell(row, column);
					const text = cell.map(cellText).join(' ');
					const colour = cell.length === 0 ? chalk.dim : cell.every((c) => c.passed) ? (cell.every((c) => c.reachable) ? chalk.green : chalk.yellow) : chalk.bgRed.white;
					return colour(pad(cell.length === 0 ? '·' : text, width));
				});
				out(`${chalk.bold(pad(row, width))}${cells.join('')}`);
			}
			out(chalk.dim(`✓ reachable  ✗ unreachable  ${chalk.bgRed.white(' red ')} differs from the expectation`));
			const verdict = summary.failed === 0
				? chalk.green.bold(`✔ all ${summary.passed} expectations held`)
				: chalk.red.bold(`✖ ${summary.failed} of ${summary.results.length} expectations failed`);
			out(`\n${verdict} ${chalk.dim(`in ${(summary.durationMs / 1000).toFixed(2)} s (lab ${summary.labId})`)}`);
		},
	};
}
