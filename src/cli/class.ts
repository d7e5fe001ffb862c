// A class at once: `labcheck run scenario.yaml --on inventories/*.yaml` — one inventory per student or team, run in
// parallel (bounded), one report each, and a grading sheet: who passes which check (summary.md, summary.csv).
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import chalk from 'chalk';
import pLimit from 'p-limit';
import { jsonReporter, markdownReporter } from '../../reporters/index.js';
import { realBackend } from '../backends/ssh/index.js';
import { loadInventory } from '../backends/ssh/inventory.js';
import type { Plan } from '../plan/types.js';
import type { RunSummary } from '../run/types.js';
import { onRealMachines, type RunFlags, runTracked } from './run.js';
import { interruption, release } from './signals.js';

/** Labs checked at once: each holds an SSH connection per node and its probes. */
const LABS_AT_ONCE = 4;

export async function runClass(plans: Plan[], flags: RunFlags, argv: string[]): Promise<number> {
	const files = flags.on!;
	// Every inventory is read and checked before anything is contacted: one bad file contacts nothing.
	const inventories = await Promise.all(files.map((f) => Promise.all(plans.map((p) => loadInventory(f, p)))));
	const dir = flags.reportsDir ?? 'labcheck-reports';
	await mkdir(dir, { recursive: true });
	const names = files.map((f) => basename(f).replace(/\.inventory\.ya?ml$|\.ya?ml$/, ''));
	const limit = pLimit(LABS_AT_ONCE);
	const outcomes = await Promise.all(
		files.map((file, i) =>
			limit(async () => {
				const summaries: RunSummary[] = [];
				const backend = realBackend({
					inventory: inventories[i][0],
					knownHosts: flags.knownHosts,
					trustNewHosts: flags.trustNewHosts,
				});
				const reporters = [
					markdownReporter(join(dir, `${names[i]}.md`)),
					jsonReporter(join(dir, `${names[i]}.json`)),
					{ onRunEnd: (s: RunSummary) => void summaries.push(s) },
				];
				for (const [k, plan] of plans.entries()) {
					if (interruption.aborted) break;
					const { lab } = await runTracked(onRealMachines(plan, inventories[i][k]), backend, reporters, flags, argv);
					release(lab);
				}
				const passed = summaries.reduce((n, s) => n + s.passed, 0);
				const failed = summaries.reduce((n, s) => n + s.failed, 0);
				console.log(
					`${failed === 0 ? chalk.green('✔') : chalk.red('✖')} ${names[i].padEnd(24)} ` +
						`${passed}/${passed + failed} held  ${chalk.dim(join(dir, `${names[i]}.md`))}`,
				);
				return { name: names[i], file, summaries, failed };
			}),
		),
	);
	if (interruption.aborted) return 1;
	await writeSheet(dir, outcomes);
	console.log(chalk.dim(`grading sheet: ${join(dir, 'summary.md')}, ${join(dir, 'summary.csv')}`));
	return outcomes.every((o) => o.failed === 0) ? 0 : 1;
}

type Outcome = { name: string; file: string; summaries: RunSummary[]; failed: number };

/** Who passes which check: a row per inventory, a column per check (a step's checks after their step). */
async function writeSheet(dir: string, outcomes: Outcome[]): Promise<void> {
	const column = (r: RunSummary['results'][number]) => `${r.check.step ? `[${r.check.step}] ` : ''}${r.check.id}`;
	const columns = [...new Set(outcomes.flatMap((o) => o.summaries.flatMap((s) => s.results.map(column))))];
	const cell = (o: Outcome, c: string) => {
		const r = o.summaries.flatMap((s) => s.results).find((x) => column(x) === c);
		if (!r) return '—';
		return r.result.status === 'error' ? 'error' : r.passed ? 'pass' : 'fail';
	};
	const held = (o: Outcome) => {
		const all = o.summaries.reduce((n, s) => n + s.passed + s.failed, 0);
		return `${all - o.failed}/${all}`;
	};
	const csv = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
	await writeFile(
		join(dir, 'summary.csv'),
		[['inventory', 'held', ...columns], ...outcomes.map((o) => [o.name, held(o), ...columns.map((c) => cell(o, c))])]
			.map((row) => row.map(csv).join(','))
			.join('\n') + '\n',
	);
	const mark = { pass: '✅', fail: '❌', error: '⚠ error', '—': '—' } as Record<string, string>;
	const md = [
		'# Grading sheet',
		'',
		`${outcomes.length} labs checked against the same scenario; each row links its report.`,
		'',
		`| inventory | held | ${columns.map((c) => `\`${c}\``).join(' | ')} |`,
		`|---|---|${columns.map(() => '---').join('|')}|`,
		...outcomes.map(
			(o) => `| [${o.name}](${o.name}.md) | ${held(o)} | ${columns.map((c) => mark[cell(o, c)]).join(' | ')} |`,
		),
		'',
	];
	await writeFile(join(dir, 'summary.md'), md.join('\n'));
}
