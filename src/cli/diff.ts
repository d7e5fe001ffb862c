// `labcheck diff a.json b.json`: what connectivity changed between two saved runs.
import chalk from 'chalk';
import { readResults } from '../../reporters/json.js';

export async function diff(before: string, after: string): Promise<number> {
	const key = (step: number, id: string) => `${step}\u0000${id}`;
	const load = async (file: string) =>
		new Map((await readResults(file)).flatMap((s) => s.results).map((r) => [key(r.check.step, r.check.id), r]));
	const [a, b] = [await load(before), await load(after)];
	const lines: string[] = [];
	for (const [k, r] of b) {
		const old = a.get(k);
		const where = `${r.check.step ? `step ${r.check.step}: ` : ''}${r.check.id}`;
		if (!old) lines.push(`${chalk.green('+')} ${where}: ${r.actual}`);
		else if (old.actual !== r.actual)
			lines.push(
				`${chalk.yellow('~')} ${where}: ${old.actual} (${old.result.status}) → ${r.actual} (${r.result.status})`,
			);
	}
	for (const [k, r] of a)
		if (!b.has(k))
			lines.push(`${chalk.red('-')} ${r.check.step ? `step ${r.check.step}: ` : ''}${r.check.id}: ${r.actual}`);
	console.log(lines.length === 0 ? 'no connectivity changed' : lines.join('\n'));
	return lines.length === 0 ? 0 : 1;
}
