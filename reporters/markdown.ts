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
import { buildMatrix, byStep, cellText } from './matrix.js';
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

function matrixTable(plan: Plan, results: CheckResult[]): string {
	const matrix = buildMatrix(plan, results);
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

export function renderMarkdown(summary: RunSummary): string {
	const { plan, results } = summary;
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
		if (step.results.some((r) => r.check.probe !== 'exec')) lines.push(matrixTable(plan, step.results), '');
	}
	const stepColumn = plan.steps.length > 0;
	lines.push(
		'## Expectations',
		'',
		table(
			['#', ...(stepColumn ? ['step'] : []), 'check', 'expected', 'predicted', 'measured', 'verdict', 'detail'],
			results.map((r, i) => [
				String(i + 1),
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
		),
		'',
	);
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
	for (const r of results) {
		const path = r.predicted ? [`path (model): ${pathOf(r.predicted)}`] : [];
		lines.push(
			`<details><summary>${r.passed ? '✅' : '❌'} ${r.check.id}</summary>`,
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
