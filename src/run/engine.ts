// One run: plan → backend builds the lab → probes in parallel under a bound → results → reporters → teardown.
import pLimit from 'p-limit';
import { explain } from './explain.js';
import type { Backend, Lab } from '../backends/types.js';
import type { Plan, PlanCheck } from '../plan/types.js';
import { applyAction } from '../plan/apply.js';
import { type Prediction, predict } from '../model/predict.js';
import { probes } from '../../probes/index.js';
import { environment } from './environment.js';
import type { ActionOutcome, CheckResult, Reporter, RunSummary } from './types.js';
import { judge } from './verdict.js';

const ROUTE_EVIDENCE = 40;

export interface RunOptions {
	backend: Backend;
	reporters: Reporter[];
	/** Probes in flight at once, at most; each kind of probe has its own bound besides (its `inFlight`). */
	concurrency?: number;
	command?: string;
	/** Keep the lab after the run (`labcheck up`); the caller owns it then. */
	keep?: boolean;
	/** Called with the lab as soon as it exists (before it is built), so a signal handler can tear it down. */
	onLab?: (lab: Lab) => void;
	/**
	 * Aborted (with the signal's name) when the run is interrupted: it stops at once and judges only what finished
	 * before.
	 */
	signal?: AbortSignal;
}

export async function runPlan(plan: Plan, options: RunOptions): Promise<{ summary: RunSummary; lab: Lab }> {
	const { backend, reporters } = options;
	const emit = async <K extends keyof Reporter>(hook: K, ...args: Parameters<NonNullable<Reporter[K]>>) => {
		for (const reporter of reporters)
			await (reporter[hook] as ((...a: unknown[]) => unknown) | undefined)?.apply(reporter, args);
	};
	const started = performance.now();
	const startedAt = new Date().toISOString();
	await backend.preflight(plan);
	await emit('onRunStart', plan);
	const building = backend.build(plan, {
		keep: options.keep,
		log: (line) => void emit('onProgress', line),
		onLab: options.onLab,
	});
	let buildFailed = false;
	building.catch(() => {
		buildFailed = true; // awaited below
	});
	// The model's work for the first checks is done while the lab is built (it waits on processes, and a big lab's
	// predictions take a second): a probe's clock runs from the moment it starts, so none may wait on the model.
	let first: Predicted[];
	try {
		first = await predictAll(
			plan,
			plan.checks.filter((c) => c.step === 0),
			() => buildFailed || Boolean(options.signal?.aborted),
		);
	} catch (error) {
		await building.then((lab) => lab.teardown()).catch(() => {});
		throw error;
	}
	const lab = await building;
	const results: CheckResult[] = [];
	const actions: ActionOutcome[] = [];
	const cap = options.concurrency ? pLimit(options.concurrency) : undefined;
	const inFlight = new Map(probes.map((p) => [p.name, p.inFlight]));
	// Containers not running at the current point of the scenario, so explanations can say so.
	let current = plan;
	const routeGet = routeEvidence(lab);
	const signal = options.signal;
	const stopped = () => signal?.aborted ?? false;
	const aborted = new Promise<void>((resolve) => {
		if (signal?.aborted) resolve();
		else signal?.addEventListener('abort', () => resolve(), { once: true });
	});
	/** A check's result, or undefined when the run was interrupted before it finished: that one is not judged. */
	const check = async ({ c, predicted }: Predicted): Promise<CheckResult | undefined> => {
		if (stopped()) return undefined;
		const request = {
			probe: c.probe,
			address: c.to.address,
			port: c.to.port,
			node: c.to.node,
			url: c.to.url,
			options: c.options,
		};
		const result = await lab.probe(c.from, request);
		if (result.status !== 'ok' && predicted && !stopped()) {
			const route = await routeGet(c.from, c.to.address);
			if (route) result.evidence = { ...result.evidence, routeGet: route };
		}
		// A probe that ends after an interruption may have met the lab being torn down.
		if (stopped()) return undefined;
		const verdict = judge(c, result);
		const done: CheckResult = {
			check: c,
			result,
			...verdict,
			predicted,
			explanation: explain(c, result, verdict.passed, predicted),
		};
		await emit('onCheckEnd', done);
		return done;
	};
	const runStep = async (prepared: Predicted[]) => {
		// Pairs the model expects to fail get their route looked up while they are probed, not after.
		for (const { c, predicted } of prepared)
			if (predicted && predicted.outcome !== 'reachable') void routeGet(c.from, c.to.address);
		const slots: Array<CheckResult | undefined> = new Array(prepared.length);
		// Each kind of probe has at most its `inFlight` running (and all of them `--concurrency`): as many workers, each
		// taking the step's next check of its kind — not a queued promise per check (a step may have 250,000).
		const kinds = new Map<string, number[]>();
		for (const [i, p] of prepared.entries()) (kinds.get(p.c.probe) ?? kinds.set(p.c.probe, []).get(p.c.probe)!).push(i);
		const workers: Array<Promise<void>> = [];
		for (const [probe, queue] of kinds) {
			let next = 0;
			const worker = async () => {
				while (next < queue.length && !stopped()) {
					const i = queue[next++];
					slots[i] = await (cap ? cap(() => check(prepared[i])) : check(prepared[i]));
				}
			};
			for (let k = Math.min(inFlight.get(probe)!, queue.length); k > 0; k--) workers.push(worker());
		}
		const all = Promise.all(workers);
		all.catch(() => {}); // an interrupted run does not wait for it; a probe's bug still surfaces below
		await Promise.race([all, aborted]);
		for (const r of slots) if (r !== undefined) results.push(r); // no spread: a step may have 250,000 results
	};
	let machines: RunSummary['machines'];
	try {
		await runStep(first);
		for (const [k, step] of plan.steps.entries()) {
			if (stopped()) break;
			await emit('onStepStart', step, k + 1);
			for (const action of step.actions) {
				if (stopped()) break;
				const next = applyAction(current, action);
				const result = await lab.act(action, next);
				if (stopped()) break; // the lab is going away: this action's result says nothing
				if (result.ok) current = next;
				const outcome: ActionOutcome = { step: k + 1, action, result, passed: result.ok === (action.expect === 'ok') };
				actions.push(outcome);
				await emit('onActionEnd', outcome);
			}
			await runStep(
				await predictAll(
					current,
					plan.checks.filter((c) => c.step === k + 1),
					stopped,
				),
			);
		}
		if (options.keep && !stopped()) await lab.detach();
		if (!stopped()) machines = await lab.machines?.().catch(() => undefined);
	} finally {
		if (!options.keep || stopped()) await lab.teardown();
	}
	const passed = results.filter((r) => r.passed).length + actions.filter((a) => a.passed).length;
	const summary: RunSummary = {
		plan,
		labId: lab.id,
		startedAt,
		durationMs: performance.now() - started,
		results,
		actions,
		passed,
		failed: results.length + actions.length - passed,
		environment: environment(backend.name, options.command ?? `labcheck run ${plan.file}`),
		...(machines ? { machines } : {}),
	};
	if (stopped()) {
		summary.interrupted = String(signal!.reason ?? 'a signal');
		summary.notRun =
			plan.checks.length + plan.steps.flatMap((st) => st.actions).length - results.length - actions.length;
	}
	await emit('onRunEnd', summary);
	return { summary, lab };
}

interface Predicted {
	c: PlanCheck;
	predicted: Prediction | undefined;
}

/**
 * What the model predicts for `checks` in the lab `plan` describes, with `auto` expectations made the model's. A big
 * step's checks are predicted a few thousand at a time, so that a signal or a failed build is heard meanwhile.
 */
async function predictAll(plan: Plan, checks: PlanCheck[], stop: () => boolean): Promise<Predicted[]> {
	const out: Predicted[] = [];
	for (const [i, planned] of checks.entries()) {
		if (i % 4096 === 4095) {
			await new Promise((resolve) => setImmediate(resolve));
			if (stop()) break;
		}
		const predicted = predict(plan, planned);
		const c = planned.expect === 'auto' && predicted ? { ...planned, expect: predicted.outcome } : planned;
		out.push({ c, predicted });
	}
	return out;
}

/**
 * `ip route get` as evidence for unreachable results, once per source and address, for the first
 * ROUTE_EVIDENCE of them (a person reads a few). Results that end together — silent pairs time out
 * at the same moment — are looked up together, with one process.
 */
function routeEvidence(lab: Lab): (node: string, address: string) => Promise<string | undefined> {
	const known = new Map<string, Promise<string | undefined>>();
	let batch: Array<{ node: string; address: string; resolve: (route?: string) => void }> = [];
	const flush = async () => {
		const queries = batch;
		batch = [];
		const answers = await lab.routes!(queries).catch(() => []);
		for (const [i, q] of queries.entries()) q.resolve(answers[i]);
	};
	return (node, address) => {
		const key = `${node} ${address}`;
		if (!lab.routes || (!known.has(key) && known.size >= ROUTE_EVIDENCE)) return Promise.resolve(undefined);
		if (!known.has(key)) {
			if (batch.length === 0) setImmediate(() => void flush());
			known.set(key, new Promise((resolve) => batch.push({ node, address, resolve })));
		}
		return known.get(key)!;
	};
}
