// A probe result against its expectation.
import type { ProbeResult } from '../../probes/types.js';
import type { Outcome, PlanCheck } from '../plan/types.js';

export function judge(check: PlanCheck, result: ProbeResult): { actual: Outcome; passed: boolean } {
	if (check.probe === 'exec') {
		const ran: Outcome = result.status === 'ok' && result.mismatch === undefined ? 'succeeds' : 'fails';
		return { actual: ran, passed: ran === check.expect };
	}
	const actual: Outcome = result.status === 'ok' ? 'reachable' : 'unreachable';
	if (check.expect === 'unreachable') return { actual, passed: actual === 'unreachable' };
	return { actual, passed: actual === 'reachable' && result.mismatch === undefined };
}
