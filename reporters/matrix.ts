// The from×to connectivity matrix shared by the terminal and Markdown reporters.
import type { CheckResult } from '../src/run/types.js';
import type { Plan } from '../src/plan/types.js';

export interface Cell {
	probe: string;
	port?: number;
	reachable: boolean;
	passed: boolean;
	expected: string;
}
export interface Matrix {
	rows: string[];
	columns: string[];
	cell(row: string, column: string): Cell[];
}

// A node's column; `vm@floating` (another address of the same node) gets a column of its own.
export const columnOf = (r: CheckResult) =>
	r.check.to.label.includes('@') ? r.check.to.label.split(':')[0] : (r.check.to.node ?? r.check.to.label);

export function buildMatrix(plan: Plan, all: CheckResult[]): Matrix {
	const results = all.filter((r) => r.check.probe !== 'exec');
	const order = (names: Set<string>) => [
		...plan.nodes.map((n) => n.name).filter((n) => names.has(n)),
		...[...names].filter((n) => !plan.nodes.some((node) => node.name === n)),
	];
	const rows = order(new Set(results.map((r) => r.check.from)));
	const columns = order(new Set(results.map(columnOf)));
	const cells = new Map<string, Cell[]>();
	for (const r of results) {
		const key = `${r.check.from}\u0000${columnOf(r)}`;
		const explicitPort = r.check.to.label.includes(':') ? r.check.to.port : undefined;
		cells.set(key, [
			...(cells.get(key) ?? []),
			{
				probe: r.check.probe,
				port: explicitPort,
				reachable: r.actual === 'reachable',
				passed: r.passed,
				expected: r.check.expect,
			},
		]);
	}
	return { rows, columns, cell: (row, column) => cells.get(`${row}\u0000${column}`) ?? [] };
}

export const cellText = (c: Cell) => `${c.reachable ? '✓' : '✗'} ${c.probe}${c.port ? `:${c.port}` : ''}`;

/** Results grouped by step (0 = the lab as built), in order, with the step's name. */
export function byStep(
	plan: Plan,
	results: CheckResult[],
): Array<{ index: number; name: string; results: CheckResult[] }> {
	const steps = [
		{ index: 0, name: plan.steps.length > 0 ? 'the lab as built' : '' },
		...plan.steps.map((s, k) => ({ index: k + 1, name: s.name })),
	];
	return steps.map((s) => ({ ...s, results: results.filter((r) => r.check.step === s.index) }));
}

/** A run of consecutive sources whose cells count the same: "h1 … h150" on one line of a summary. */
export interface SourceGroup {
	first: string;
	last: string;
	n: number;
	reachable: number;
	unreachable: number;
	failing: number;
}

/** The matrix's sources, those that behave alike in a row collapsed, for summaries of matrices too wide to draw. */
export function sourceGroups(matrix: Matrix): SourceGroup[] {
	const groups: SourceGroup[] = [];
	for (const row of matrix.rows) {
		const counts = { reachable: 0, unreachable: 0, failing: 0 };
		for (const column of matrix.columns)
			for (const c of matrix.cell(row, column)) {
				if (c.reachable) counts.reachable++;
				else counts.unreachable++;
				if (!c.passed) counts.failing++;
			}
		const last = groups.at(-1);
		if (
			last &&
			last.reachable === counts.reachable &&
			last.unreachable === counts.unreachable &&
			last.failing === counts.failing
		) {
			last.last = row;
			last.n++;
		} else groups.push({ first: row, last: row, n: 1, ...counts });
	}
	return groups;
}
