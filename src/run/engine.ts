// One run: plan → backend builds the lab → probes in parallel under a bound → results → reporters → teardown.
import pLimit from 'p-limit';
import { explain } from './explain.js';
import type { Backend, Lab } from '../backends/types.js';
import type { Plan } from '../plan/types.js';
import { environment } from './environment.js';
import type { CheckResult, Reporter, RunSummary } from './types.js';
import { judge } from './verdict.js';

export interface RunOptions {
	backend: Backend;
	reporters: Reporter[];
	/** Probes in flight at once. */
	concurrency?: number;
	command?: string;
	/** Keep the lab after the run (`labcheck up`); the caller owns it then. */
	keep?: boolean;
	/** Called with the lab as soon as it exists, so a signal handler can tear it down. */
	onLab?: (lab: Lab) => void;
}

export async function runPlan(plan: Plan, options: RunOptions): Promise<{ summary: RunSummary; lab: Lab }> {
	const { backend, reporters } = options;
	const emit = async <K extends keyof Reporter>(hook: K, ...args: Parameters<NonNullable<Reporter[K]>>) => {
		for (const reporter of reporters) await (reporter[hook] as ((...a: unknown[]) => unknown) | undefined)?.apply(reporter, args);
	};
	const started = performance.now();
	const startedAt = new Date().toISOString();
	await backend.preflight(plan);
	await emit('onRunStart', plan);
	const lab = await backend.build(plan, { keep: options.keep, log: (line) => void emit('onProgress', line) });
	options.onLab?.(lab);
	let results: CheckResult[];
	try {
		const limit = pLimit(options.concurrency ?? 32);
		results = await Promise.all(plan.checks.map((check) => limit(async () => {
			const result = await lab.probe(check.from, { probe: check.probe, address: check.to.address, port: check.to.port, options: check.options });
			const verdict = judge(check, result);
			const done: CheckResult = { check, result, ...verdict, explanation: explain(plan, check, result, verdict.passed) };
			await emit('onCheckEnd', done);
			return done;
		})));
		if (options.keep) await lab.detach();
	} finally {
		if (!options.keep) await lab.teardown();
	}
	const passed = results.filter((r) => r.passed).length;
	const summary: RunSummary = {
		plan, labId: lab.id, startedAt, durationMs: performance.now() - started, results, passed, failed: results.length - passed,
		environment: environment(backend.name, options.command ?? `labcheck run ${plan.file}`),
	};
	await emit('onRunEnd', summary);
	return { summary, lab };
}
