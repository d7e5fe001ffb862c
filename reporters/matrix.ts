// The from×to connectivity matrix shared by the terminal and Markdown reporters.
import type { CheckResult } from '../src/run/types.js';
import type { Plan } from '../src/plan/types.js';

export interface Cell { probe: string; port?: number; reachable: boolean; passed: boolean; expected: string }
export interface Matrix { rows: string[]; columns: string[]; cell(row: string, column: string): Cell[] }

export const columnOf = (r: CheckResult) => r.check.to.node ?? r.check.to.label;

export function buildMatrix(plan: Plan, results: CheckResult[]): Matrix {
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
		cells.set(key, [...(cells.get(key) ?? []), { probe: r.check.probe, port: explicitPort, reachable: r.actual === 'reachable', passed: r.passed, expected: r.check.expect }]);
	}
	return { rows, columns, cell: (row, column) => cells.get(`${row}\u0000${column}`) ?? [] };
}

export const cellText = (c: Cell) => `${c.reachable ? '✓' : '✗'} ${c.probe}${c.port ? `:${c.port}` : ''}`;
