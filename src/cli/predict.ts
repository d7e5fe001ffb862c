// `labcheck predict <scenario>` and `labcheck why <scenario> <from> <to> [port]`: the model alone,
// no lab built — the expected matrix of every step, and the hop-by-hop path of one pair.
import chalk from 'chalk';
import { printMatrix } from '../../reporters/terminal.js';
import { pathOf, predict } from '../model/predict.js';
import { planAt } from '../plan/apply.js';
import { buildPlan } from '../plan/build.js';
import { resolveTarget } from '../plan/checks.js';
import type { PlanCheck } from '../plan/types.js';
import { loadScenario } from '../scenario/load.js';
import type { CheckResult } from '../run/types.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../scenario/suggest.js';
import { measure } from './measure.js';
import { probeNames, probeOf } from '../../probes/index.js';

export async function predictScenario(file: string, flags: { allowExternal?: boolean }): Promise<number> {
	const started = performance.now();
	const plan = buildPlan(await loadScenario(file), flags);
	const states = planAt(plan);
	let disagree = 0;
	const results: CheckResult[] = [];
	for (const check of plan.checks.filter((c) => c.probe !== 'exec')) {
		const p = predict(states[check.step], check)!;
		const agrees = check.expect === 'auto' || check.expect === p.outcome;
		if (!agrees) disagree++;
		results.push({
			check,
			result: { status: p.status, detail: p.path, ms: 0 },
			actual: p.outcome,
			passed: agrees,
			predicted: p,
		});
		const mark = agrees ? chalk.green('✓') : chalk.red('✖');
		console.log(
			`${mark} ${check.step ? chalk.dim(`[step ${check.step}] `) : ''}${check.id}: ${p.outcome}` +
				(p.outcome === 'unreachable' ? ` (${p.status})` : '') +
				(agrees ? '' : chalk.red(` — the scenario expects ${check.expect}`)),
		);
		console.log(chalk.dim(`    ${pathOf(p)}`));
	}
	const summary = {
		plan,
		labId: 'model',
		startedAt: '',
		durationMs: 0,
		results,
		actions: [],
		passed: 0,
		failed: 0,
		environment: { labcheck: '', node: '', kernel: '', backend: 'model', command: '' },
	};
	console.log('');
	printMatrix(summary, results, (line) => console.log(line));
	console.log(
		chalk.dim(`\npredicted ${results.length} checks in ${(performance.now() - started).toFixed(0)} ms, nothing built`),
	);
	if (disagree > 0) console.log(chalk.red(`${disagree} expectation(s) of the scenario disagree with the model`));
	return disagree === 0 ? 0 : 1;
}

export async function why(
	file: string,
	from: string,
	to: string,
	port: string | undefined,
	flags: { step?: string; allowExternal?: boolean; probe?: string },
): Promise<number> {
	const plan = buildPlan(await loadScenario(file));
	const names = plan.nodes.map((n) => n.name);
	if (!names.includes(from)) throw new UsageError(`unknown node "${from}"`, didYouMean(from, names));
	const step = Number(flags.step ?? 0);
	const target = resolveTarget(plan, to, { allowExternal: flags.allowExternal });
	if (typeof target === 'string') throw new UsageError(target, to.includes('@') ? undefined : didYouMean(to, names));
	const name = flags.probe ?? (port ? 'tcp' : 'ping');
	const probe = probeOf(name);
	const followed = probeNames.filter((n) => probeOf(n)!.packet);
	if (!probe?.packet) throw new UsageError(`no probe "${name}" to follow`, `the model follows ${followed.join(', ')}`);
	if (probe.port === 'required' && !port) throw new UsageError(`${name} needs a port`, `e.g. ${from} ${to} 22`);
	const number = port ? Number(port) : probe.port === 'none' ? undefined : probe.defaultPort;
	const check: PlanCheck = {
		id: `${name} ${from} -> ${to}${port ? `:${port}` : ''}`,
		step,
		at: { file, line: 0, col: 0 },
		probe: name,
		from,
		to: { ...target, label: to, port: number },
		expect: 'auto',
		options: {},
	};
	const p = predict(planAt(plan)[step], check)!;
	console.log(
		`${check.id}${step ? ` after step ${step}` : ''}: ` +
			(p.outcome === 'reachable' ? chalk.green('reachable') : chalk.red(`unreachable (${p.status})`)),
	);
	for (const hop of p.path.split(' ▸ ')) console.log(`  ▸ ${hop}`);
	if (p.stop) console.log(chalk.red(`  ✗ ${p.stop}${p.rule ? chalk.dim(` (rule ${p.rule})`) : ''}`));
	if (p.cause) console.log(`  because ${p.cause}`);
	if (p.hint) console.log(chalk.dim(`  to change it: ${p.hint}`));
	if (p.seenFrom) console.log(chalk.dim(`  the target sees the packets come from ${p.seenFrom}`));
	if (!(await measure(plan.file, check)))
		console.log(chalk.dim('\n(the model only: start the lab with `labcheck up` to measure it too)'));
	return 0;
}
