// Per-probe evidence in the shape of the tool a student would have used (ping, curl, ssh).
import { probeOf } from '../probes/index.js';
import type { CheckResult } from '../src/run/types.js';

export function evidenceLines(r: CheckResult): string[] {
	const route = (r.result.evidence as { routeGet?: string } | undefined)?.routeGet;
	const lines = probeLines(r);
	return route !== undefined
		? [...lines, `${r.check.from}$ ip route get ${r.check.to.address}`, route || '(no output)']
		: lines;
}

function probeLines(r: CheckResult): string[] {
	const probe = probeOf(r.check.probe);
	return probe ? probe.evidence(r.check, r.result) : [r.result.detail];
}
