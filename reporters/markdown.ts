// report.md: what the lab was, what was measured, the matrix, the verdicts, and why each ✗ happened.
import { writeFile } from 'node:fs/promises';
import type { Plan } from '../src/plan/types.js';
import { redact, redactText } from '../src/run/redact.js';
import type { Reporter, RunSummary } from '../src/run/types.js';
import { verdictOf } from '../src/run/verdict.js';
import { mermaid } from './diagram.js';
import { evidenceLines } from './evidence.js';
import type { CheckResult } from '../src/run/types.js';
import { pathOf } from '../src/model/predict.js';
import { buildMatrix, byStep, cellText, columnOf, sourceGroups } from './matrix.js';
import { viewOf } from '../src/model/network.js';
import { rulesOf, sentence } from '../src/plan/rules.js';

const esc = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head: string[], rows: string[][]) =>
	[
		`| ${head.join(' | ')} |`,
		`|${head.map(() => '---').join('|')}|`,
		...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
	].join('\n');

function topology(plan: Plan): string[] {
	const rows = plan.nodes.flatMap((node) =>
		node.interfaces.map((iface, i) => [
			i === 0 ? `**${node.name}**${node.auto ? ' (added)' : ''}` : '',
			i === 0 ? node.kind : '',
			iface.ifname,
			`${iface.address}/${iface.prefix}`,
			iface.network,
			i === 0 ? node.routes.map((r) => `${r.to} via ${r.via}`).join(', ') || '—' : '',
			i === 0 ? node.services.map((s) => `${s.name}:${s.port}`).join(', ') || '—' : '',
		]),
	);
	const lines = [
		'## Nodes and addresses',
		'',
		table(['node', 'kind', 'interface', 'address', 'network', 'routes', 'services'], rows),
		'',
	];
	lines.push(
		table(
			['network', 'subnet', 'role', 'gateway'],
			plan.networks.map((n) => [`${n.name}${n.auto ? ' (added)' : ''}`, n.subnet, n.role, n.gateway ?? '—']),
		),
		'',
	);
	// What each node does to packets, quoted from the rules the lab is built from (src/plan/rules.ts): the same sentences
	// the iptables comments and the explanations carry. One line a rule, however many chains it is written into.
	const rules = plan.nodes.flatMap((node) => {
		const said = new Set<string>();
		const quoted = rulesOf(viewOf(plan), node).filter(
			(r) => !['mark', 'save-mark', 'restore-mark'].includes(r.action.type) && !r.match.self,
		);
		return [
			...quoted.flatMap((r) => {
				const why = sentence(r.why);
				if (said.has(why)) return [];
				said.add(why);
				return [`- **${node.name}**: ${why} (\`${r.id}\`)`];
			}),
			...(node.auto && node.kind === 'router' ? [`- **${node.name}** was added by labcheck: ${node.about}.`] : []),
		];
	});
	if (rules.length > 0) lines.push('### What each node does to packets', '', ...rules, '');
	return lines;
}

const measured = (r: CheckResult) => (r.actual === 'unreachable' ? `unreachable (${r.result.status})` : r.actual);

/** Past this many columns a matrix is no table a person reads: a summary by source (Markdown), a heat map (HTML). */
export const MATRIX_COLUMNS = 24;
/** Past this many checks the report lists what failed and collapses what held. */
export const LISTED = 500;
/** Rows of held checks listed, collapsed, in a big report (all of them are in --json). */
const HELD_LISTED = 1000;

/** The anchor of a check's evidence, for links from a heat map and from the failures. */
const anchor = (i: number) => `e${i + 1}`;

function matrixSummary(
	matrix: ReturnType<typeof buildMatrix>,
	results: CheckResult[],
	index: Map<CheckResult, number>,
) {
	const rows = sourceGroups(matrix).map((g) => [
		g.n === 1 ? g.first : `${g.first} … ${g.last} (${g.n})`,
		String(g.reachable),
		String(g.unreachable),
		g.failing ? `**⚠ ${g.failing}**` : '0',
	]);
	const failing = results.filter((r) => !r.passed && r.check.probe !== 'exec');
	return [
		`${matrix.rows.length} × ${matrix.columns.length}: too wide for a table. Sources that behave alike are one row ` +
			'(the HTML report draws every cell).',
		'',
		table(['from', '✓ reachable', '✗ unreachable', 'failing'], rows),
		...(failing.length > 0
			? ['', `Failing cells: ${failing.map((r) => `[${r.check.id}](#${anchor(index.get(r)!)})`).join(', ')}`]
			: []),
	].join('\n');
}

/** The matrix as a grid of coloured squares, a failing one linking to its evidence (HTML reports only). */
function heatMap(matrix: ReturnType<typeof buildMatrix>, results: CheckResult[], index: Map<CheckResult, number>) {
	const byCell = new Map<string, CheckResult[]>();
	for (const r of results) {
		if (r.check.probe === 'exec') continue;
		const key = `${r.check.from}\u0000${columnOf(r)}`;
		byCell.set(key, [...(byCell.get(key) ?? []), r]);
	}
	const html = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
	const cells: string[] = [];
	for (const row of matrix.rows)
		for (const column of matrix.columns) {
			const rs = byCell.get(`${row}\u0000${column}`) ?? [];
			const bad = rs.find((r) => !r.passed);
			const title = html(
				rs.map((r) => `${r.check.id}: ${r.actual}${r.passed ? '' : ` (expected ${r.check.expect})`}`).join('\n'),
			);
			const kind = rs.length === 0 ? 'none' : bad ? 'bad' : rs.every((r) => r.actual === 'reachable') ? 'ok' : 'no';
			cells.push(
				bad
					? `<a class="c bad" href="#${anchor(index.get(bad)!)}" title="${title}"></a>`
					: `<i class="c ${kind}"${title ? ` title="${title}"` : ''}></i>`,
			);
		}
	return (
		`<div class="heat" style="grid-template-columns: repeat(${matrix.columns.length}, 7px)">${cells.join('')}</div>\n` +
		`<p class="legend"><i class="c ok"></i> reachable <i class="c no"></i> unreachable, as expected ` +
		`<i class="c bad"></i> differs from the expectation (click: its evidence) — rows ${html(matrix.rows[0])} … ` +
		`${html(matrix.rows.at(-1)!)} send, ` +
		`columns ${html(matrix.columns[0])} … ${html(matrix.columns.at(-1)!)} receive</p>`
	);
}

function matrixTable(plan: Plan, results: CheckResult[], index: Map<CheckResult, number>, forHtml: boolean): string {
	const matrix = buildMatrix(plan, results);
	if (matrix.columns.length > MATRIX_COLUMNS)
		return forHtml ? heatMap(matrix, results, index) : matrixSummary(matrix, results, index);
	return table(
		['from \\ to', ...matrix.columns],
		matrix.rows.map((row) => [
			row,
			...matrix.columns.map((column) => {
				const cell = matrix.cell(row, column);
				return cell.length === 0
					? '·'
					: cell.map((c) => (c.passed ? cellText(c) : `**⚠ ${cellText(c)}** (expected ${c.expected})`)).join('<br>');
			}),
		]),
	);
}

export function renderMarkdown(summary: RunSummary, options: { html?: boolean } = {}): string {
	const { plan, results } = summary;
	const index = new Map(results.map((r, i) => [r, i]));
	const big = results.length > LISTED;
	const { ok, text } = verdictOf(summary);
	const sentence = summary.interrupted ? text : text[0].toUpperCase() + text.slice(1);
	const verdict = `${summary.interrupted ? '⏹ Run' : ok ? '✅' : '❌'} ${sentence}.`;
	const lines = [`# ${plan.name}`, ''];
	if (plan.about) lines.push(plan.about, '');
	lines.push(
		`**${verdict}** Scenario \`${plan.file}\`, lab \`${summary.labId}\`, ${(summary.durationMs / 1000).toFixed(2)} s.`,
		'',
	);
	if (summary.machines) lines.push(...machinesSection(summary.machines));
	lines.push('## Topology', '', '```mermaid', mermaid(plan), '```', '');
	lines.push(...topology(plan));
	lines.push(
		'## Connectivity matrix',
		'',
		'Rows send, columns receive. ✓ reachable, ✗ unreachable; **⚠** marks a cell that differs from the expectation.',
		'',
	);
	for (const step of byStep(plan, results)) {
		if (step.index > 0) {
			lines.push(`### Step ${step.index}: ${step.name}`, '');
			for (const a of summary.actions.filter((x) => x.step === step.index)) {
				lines.push(
					`- ${a.passed ? '✅' : '❌'} \`${a.action.text}\` — ${a.result.ok ? 'done' : 'refused'}: ${a.result.detail}` +
						(a.passed ? '' : ` (expected ${a.action.expect === 'ok' ? 'it to succeed' : 'a refusal'})`),
				);
			}
			lines.push('');
		} else if (step.name) lines.push('### As built', '');
		if (step.results.some((r) => r.check.probe !== 'exec'))
			lines.push(matrixTable(plan, step.results, index, options.html ?? false), '');
	}
	const stepColumn = plan.steps.length > 0;
	const expectations = (rs: CheckResult[]) =>
		table(
			['#', ...(stepColumn ? ['step'] : []), 'check', 'expected', 'predicted', 'measured', 'verdict', 'detail'],
			rs.map((r) => [
				String(index.get(r)! + 1),
				...(stepColumn ? [String(r.check.step)] : []),
				`\`${r.check.id}\``,
				r.check.expect,
				r.predicted
					? r.predicted.outcome === r.actual
						? r.predicted.outcome
						: `**${r.predicted.outcome}** ≠ measured`
					: '—',
				measured(r),
				r.passed ? '✅ held' : '❌ failed',
				`${r.result.detail}${r.result.mismatch ? `; ${r.result.mismatch}` : ''}`,
			]),
		);
	lines.push('## Expectations', '');
	if (!big) lines.push(expectations(results), '');
	else {
		// A big run: what failed in full, what held collapsed (and capped: --json has every one).
		const failed = results.filter((r) => !r.passed);
		const held = results.filter((r) => r.passed);
		if (failed.length > 0) lines.push(`### ${failed.length} failed`, '', expectations(failed), '');
		lines.push(
			`<details><summary>${held.length} held${held.length > HELD_LISTED ? ` (the first ${HELD_LISTED} listed)` : ''}` +
				'</summary>',
			'',
			expectations(held.slice(0, HELD_LISTED)),
			'',
			'</details>',
			'',
		);
	}
	const disagreements = results.filter((r) => r.predicted && r.predicted.outcome !== r.actual);
	if (disagreements.length > 0) {
		lines.push(
			'## Model and lab disagree',
			'',
			'labcheck predicted these from the scenario alone and measured otherwise: either the lab misbehaves ' +
				'(or the scenario is not what was meant), or the model is wrong.',
			'',
		);
		for (const r of disagreements)
			lines.push(
				`- \`${r.check.id}\`: predicted ${r.predicted!.outcome} (${pathOf(r.predicted!)}), measured ${measured(r)}.`,
			);
		lines.push('');
	}
	const why = results.filter((r) => r.explanation);
	if (why.length > 0) {
		lines.push('## Why', '');
		// No spread: a big lab has more lines than a call may have arguments.
		for (const r of why) lines.push(`- \`${r.check.id}\` ${r.actual === 'reachable' ? '✓' : '✗'}: ${r.explanation}.`);
		lines.push('');
	}
	lines.push('## Evidence', '');
	// A big run keeps the evidence of what failed or surprised the model; --json keeps all of it.
	const evidenced = big
		? results.filter((r) => !r.passed || (r.predicted && r.predicted.outcome !== r.actual))
		: results;
	if (big) lines.push(`Of the checks that failed or that the model did not predict (${evidenced.length}).`, '');
	for (const r of evidenced) {
		const path = r.predicted ? [`path (model): ${pathOf(r.predicted)}`] : [];
		lines.push(
			`<details id="${anchor(index.get(r)!)}"><summary>${r.passed ? '✅' : '❌'} ${r.check.id}</summary>`,
			'',
			'```',
			...evidenceLines(r).map(redactText),
			'```',
			'',
			...path,
			'',
			'</details>',
			'',
		);
	}
	const env = summary.environment;
	lines.push(
		'---',
		'',
		`labcheck ${env.labcheck} · backend ${env.backend} · Linux ${env.kernel} · Node ${env.node} · ` +
			`${summary.startedAt}  `,
		`Reproduce: \`${env.command}\``,
		'',
	);
	return redact(lines.join('\n'));
}

export function markdownReporter(path: string): Reporter {
	const runs: string[] = [];
	return {
		async onRunEnd(summary) {
			runs.push(renderMarkdown(summary));
			await writeFile(path, runs.join('\n\n'));
		},
	};
}

/** Measured on real machines: what each said of itself, beside the scenario's topology below; what was contacted. */
function machinesSection(machines: NonNullable<RunSummary['machines']>): string[] {
	return [
		'## Measured on real machines',
		'',
		`Nothing was built: each probe ran from the machine named as its source, reached over SSH as the inventory ` +
			`\`${machines.inventory}\` says. What each machine reports of itself:`,
		'',
		table(
			['node', 'reached as', 'addresses', 'routes'],
			machines.nodes.map((n) => [
				n.node,
				n.reachedAs,
				n.error ? `**not reached**: ${n.error}` : (n.addresses ?? []).join('<br>') || '—',
				(n.routes ?? []).join('<br>') || '—',
			]),
		),
		'',
		...machines.nodes.flatMap((n) =>
			n.error
				? []
				: n.firewall?.some((l) => l.startsWith('-A'))
					? [
							`<details><summary>${n.node}'s firewall (iptables-save)</summary>`,
							'',
							'```',
							...n.firewall,
							'```',
							'</details>',
							'',
						]
					: [`- ${n.node}'s firewall: ${n.firewall ? 'no rule' : 'could not be read (needs root)'}`, ''],
		),
		'Contacted by this run:',
		'',
		...machines.contacted.map((c) => `- ${c}`),
		'',
	];
}
