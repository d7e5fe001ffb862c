// What must hold for any scenario text: a plan and a prediction for every check of every step, or a
// user's error (exit 2) whose every problem has a position. Anything else thrown is a bug.
import { ScenarioError, UsageError } from '../../src/errors.js';
import { predict } from '../../src/model/predict.js';
import { planAt } from '../../src/plan/apply.js';
import { buildPlan } from '../../src/plan/build.js';
import type { Plan } from '../../src/plan/types.js';
import { parseScenario } from '../../src/scenario/load.js';

/** A case taking longer than this is a hang in the making (the biggest scenarios plan in ~4 s). */
export const CASE_BOUND_MS = 10_000;

export function judgeScenario(text: string): { valid: boolean; checks: number; ms: number } {
	const started = performance.now();
	const elapsed = () => performance.now() - started;
	let plan: Plan;
	try {
		plan = buildPlan(parseScenario('fuzz.yaml', text));
	} catch (error) {
		if (error instanceof ScenarioError) {
			for (const p of error.problems) {
				if (!(p.at.line >= 1 && p.at.col >= 1) || !p.message)
					throw new Error(`a problem without a position or message: ${JSON.stringify(p)}`);
			}
		} else if (!(error instanceof UsageError)) throw error;
		if (elapsed() > CASE_BOUND_MS) throw new Error(`refusing the scenario took ${elapsed().toFixed(0)} ms`);
		return { valid: false, checks: 0, ms: elapsed() };
	}
	const states = planAt(plan);
	for (const check of plan.checks) predict(states[check.step], check);
	if (elapsed() > CASE_BOUND_MS) throw new Error(`planning and predicting took ${elapsed().toFixed(0)} ms`);
	return { valid: true, checks: plan.checks.length, ms: elapsed() };
}

/** judgeScenario, and no warning printed (yaml warns on the next tick, e.g. for keys it must stringify). */
export async function judgeQuietly(text: string): Promise<ReturnType<typeof judgeScenario>> {
	let warning: Error | undefined;
	const listener = (w: Error) => {
		warning = w;
	};
	process.on('warning', listener);
	try {
		const verdict = judgeScenario(text);
		await new Promise((resolve) => setImmediate(resolve));
		if (warning) throw new Error(`a warning was printed: ${warning.message}`);
		return verdict;
	} finally {
		process.off('warning', listener);
	}
}
