// A probe result against its expectation.
import { probeOf } from '../../probes/index.js';
import type { ProbeResult } from '../../probes/types.js';
import type { Outcome, PlanCheck } from '../plan/types.js';
import type { RunSummary } from './types.js';

export function judge(check: PlanCheck, result: ProbeResult): { actual: Outcome; passed: boolean } {
	if (probeOf(check.probe)?.judged === 'run') {
		const ran: Outcome = result.status === 'ok' && result.mismatch === undefined ? 'succeeds' : 'fails';
		return { actual: ran, passed: !result.unprobed && ran === check.expect };
	}
	const actual: Outcome = result.status === 'ok' ? 'reachable' : 'unreachable';
	if (result.unprobed) return { actual, passed: false };
	if (check.expect === 'unreachable') return { actual, passed: actual === 'unreachable' };
	return { actual, passed: actual === 'reachable' && result.mismatch === undefined };
}

/** The run's one-line verdict, the same in every report: held, failed, or interrupted (nothing unfinished judged). */
export function verdictOf(summary: RunSummary): { ok: boolean; text: string } {
	const judged = summary.passed + summary.failed;
	if (summary.interrupted) {
		return {
			ok: false,
			text:
				`interrupted by ${summary.interrupted}: ${judged} of ${judged + (summary.notRun ?? 0)} checks finished ` +
				`and were judged (${summary.failed} failed); the rest did not run`,
		};
	}
	return summary.failed === 0
		? { ok: true, text: `all ${summary.passed} expectations held` }
		: { ok: false, text: `${summary.failed} of ${judged} expectations failed` };
}
