// `labcheck diff a.json b.json`: what connectivity changed between two saved runs — two runs of a lab, or the
// embedded run of a scenario and its run on the real machines (`--on`): cell by cell, with both evidences.
import chalk from 'chalk';
import { readResults } from '../../reporters/json.js';
import type { CheckResult, RunSummary } from '../run/types.js';

const where = (s: RunSummary) => (s.machines ? `on ${s.machines.inventory}` : `lab ${s.labId}`);

export async function diff(before: string, after: string): Promise<number> {
	const key = (step: number, id: string) => `${step}\u0000${id}`;
	const load = async (file: string) => {
		const runs = await readResults(file);
		const results = new Map(runs.flatMap((s) => s.results).map((r) => [key(r.check.step, r.check.id), r]));
		return { results, name: runs.map(where).join(', ') };
	};
	const [a, b] = [await load(before), await load(after)];
	const evidence = (side: string, r: CheckResult) =>
		chalk.dim(`    ${side}: ${r.result.detail}${r.explanation ? ` — ${r.explanation}` : ''}`);
	const lines: string[] = [];
	for (const [k, r] of b.results) {
		const old = a.results.get(k);
		const at = `${r.check.step ? `step ${r.check.step}: ` : ''}${r.check.id}`;
		if (!old) lines.push(`${chalk.green('+')} ${at}: ${r.actual}`);
		else if (old.actual !== r.actual)
			lines.push(
				`${chalk.yellow('~')} ${at}: ${old.actual} (${old.result.status}) → ${r.actual} (${r.result.status})`,
				evidence(`${before} (${a.name})`, old),
				evidence(`${after} (${b.name})`, r),
			);
	}
	for (const [k, r] of a.results)
		if (!b.results.has(k))
			lines.push(`${chalk.red('-')} ${r.check.step ? `step ${r.check.step}: ` : ''}${r.check.id}: ${r.actual}`);
	console.log(lines.length === 0 ? 'no connectivity changed' : lines.join('\n'));
	return lines.length === 0 ? 0 : 1;
}
