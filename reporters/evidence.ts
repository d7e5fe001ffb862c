// Per-probe evidence in the shape of the tool a student would have used (ping, curl, ssh).
import type { CheckResult } from '../src/run/types.js';

export function evidenceLines(r: CheckResult): string[] {
	const route = (r.result.evidence as { routeGet?: string } | undefined)?.routeGet;
	const lines = probeLines(r);
	return route !== undefined
		? [...lines, `${r.check.from}$ ip route get ${r.check.to.address}`, route || '(no output)']
		: lines;
}

function probeLines(r: CheckResult): string[] {
	const { check, result } = r;
	const e = (result.evidence ?? {}) as Record<string, unknown>;
	const at = `${check.to.address}${check.to.port ? `:${check.to.port}` : ''}`;
	switch (check.probe) {
		case 'ping': {
			const lines = [`${check.from}$ ping -c ${check.options.count ?? 3} ${check.to.address}`];
			for (const [i, rtt] of ((e.rtt as number[]) ?? []).entries())
				lines.push(`64 bytes from ${check.to.address}: icmp_seq=${i + 1} time=${rtt.toFixed(3)} ms`);
			if (result.status !== 'ok') lines.push(result.detail);
			if (e.statistics) lines.push(`--- ${check.to.address} ping statistics ---`, String(e.statistics));
			if (typeof e.min === 'number')
				lines.push(
					`rtt min/avg/max = ${(e.min as number).toFixed(3)}/${(e.avg as number).toFixed(3)}/${(e.max as number).toFixed(3)} ms`,
				);
			return lines;
		}
		case 'http': {
			const body = check.options.body;
			const lines = [
				`${check.from}$ curl${body !== undefined ? ` -d ${JSON.stringify(body)} -X POST` : ''} http://${at}/`,
			];
			if (e.status !== undefined)
				lines.push(
					`< HTTP ${e.status}`,
					...String(e.body ?? '')
						.trimEnd()
						.split('\n')
						.slice(0, 8),
				);
			else lines.push(result.detail);
			if (result.seenFrom) lines.push(`(the service saw the request come from ${result.seenFrom})`);
			return lines;
		}
		case 'ssh': {
			const lines = [
				`${check.from}$ ssh -p ${check.to.port} ${check.options.user ?? 'root'}@${check.to.address}${check.options.command ? ` '${check.options.command}'` : ''}`,
			];
			if (e.serverVersion) lines.push(`server: ${e.serverVersion}`);
			if (e.banner) lines.push(String(e.banner));
			if (e.output !== undefined) lines.push(...String(e.output).trimEnd().split('\n').slice(0, 8));
			else lines.push(result.detail);
			return lines;
		}
		case 'exec': {
			const out = String(e.output ?? '').trimEnd();
			return [
				`${check.from}$ ${check.options.command}`,
				...(out ? out.split('\n').slice(0, 8) : []),
				`(exit ${e.exitCode ?? '?'})`,
			];
		}
		default:
			return [`${check.from}$ nc -z ${check.to.address} ${check.to.port ?? ''}`.trimEnd(), result.detail];
	}
}
