// `labcheck report results.json`: the reports of a saved run, rendered again without building anything.
import { htmlReporter, junitReporter, markdownReporter } from '../../reporters/index.js';
import { readResults } from '../../reporters/json.js';
import type { Reporter } from '../run/types.js';

export async function rerender(
	file: string,
	flags: { report: string; html?: string; junit?: string },
): Promise<number> {
	const summaries = await readResults(file);
	const reporters: Reporter[] = [markdownReporter(flags.report)];
	if (flags.html) reporters.push(htmlReporter(flags.html));
	if (flags.junit) reporters.push(junitReporter(flags.junit));
	for (const summary of summaries) for (const r of reporters) await r.onRunEnd?.(summary);
	console.log(`wrote ${[flags.report, flags.html, flags.junit].filter(Boolean).join(', ')} from ${file}`);
	return summaries.every((s) => s.failed === 0 && !s.interrupted) ? 0 : 1;
}
