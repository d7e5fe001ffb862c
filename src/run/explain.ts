// One line per result a person should read about: why, from the model's path and the rule that
// decided it, beside what the probe measured. No reasoning of its own about routes or rules: where
// the lab and the model disagree, it says so and points at the evidence.
import type { ProbeResult } from '../../probes/types.js';
import { type Prediction, reasonOf } from '../model/predict.js';
import type { PlanCheck } from '../plan/types.js';

export function explain(
	check: PlanCheck,
	result: ProbeResult,
	passed: boolean,
	predicted: Prediction | undefined,
): string | undefined {
	const target = `${check.to.address}${check.to.port ? `:${check.to.port}` : ''}`;
	// A check the model cannot follow (exec): what it measured is the whole story.
	if (!predicted) return passed ? undefined : `${check.id}: ${result.detail}`;
	if (result.status === 'error') return `labcheck could not probe ${target} from ${check.from}: ${result.detail}`;
	if (result.status === 'ok') {
		if (result.mismatch) return `${target} answered, but ${result.mismatch}`;
		if (predicted.status !== 'ok')
			return `the lab answered where the model expected ${predicted.status} (${because(predicted)}): ${result.detail}`;
		if (check.expect === 'unreachable')
			return `${target} answered although the scenario expects it unreachable: ${result.detail}`;
		if (predicted.rewrites.length === 0) return undefined;
		const who = predicted.reached ?? check.to.node ?? check.to.address;
		const differs =
			predicted.seenFrom && result.seenFrom !== predicted.seenFrom ? ` (the model expected ${predicted.seenFrom})` : '';
		const seen = result.seenFrom ? `; ${who} saw the connection come from ${result.seenFrom}${differs}` : '';
		return `${predicted.rewrites.join('; ')}${seen}`;
	}
	if (predicted.status === 'ok')
		return (
			`the model expected an answer (${predicted.path}), the lab measured ${result.status}: ${result.detail}` +
			' — see the evidence below'
		);
	let reason = because(predicted);
	if (check.to.label.endsWith('@floating') && predicted.stop?.includes('answers ARP'))
		reason = `no floating IP is associated with ${check.to.node} at this step: ${reason}`;
	// Both unreachable, by two ways of failing (an ICMP error the kernel sends after 3 s, a probe that gave up first):
	// the reason stands, the measurement is said as it was.
	if (predicted.status !== result.status) return `${reason} (measured: ${result.detail})`;
	return reason;
}

const because = (p: Prediction) => reasonOf(p) ?? p.path;
