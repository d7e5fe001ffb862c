// exec: a command on the node (`exec vm -- curl -s example`); succeeds when it exits 0 (and its output
// holds `match`). No packet of its own for the model to follow.
import { match } from './options.js';
import { defineProbe, type ProbeResult } from './types.js';

export const exec = defineProbe({
	name: 'exec',
	summary: 'a shell command on the node ("exec NODE -- COMMAND: succeeds"): exit code and output',
	port: 'none',
	judged: 'run',
	inFlight: 16,
	options: { match },
	evidence(check, result) {
		const e = (result.evidence ?? {}) as Record<string, unknown>;
		const out = String(e.output ?? '').trimEnd();
		return [
			`${check.from}$ ${check.options.command}`,
			...(out ? out.split('\n').slice(0, 8) : []),
			`(exit ${e.exitCode ?? '?'})`,
		];
	},
	async run({ options }, context) {
		const started = performance.now();
		if (!context.exec) return { status: 'error', detail: 'this lab cannot run commands on its nodes', ms: 0 };
		try {
			const { exitCode, output } = await context.exec(options.command!);
			const text = output.trim().split('\n').slice(-3).join(' / ');
			const mismatch =
				exitCode === 0 && options.match !== undefined && !output.includes(options.match)
					? `output does not contain "${options.match}"`
					: undefined;
			const result: ProbeResult = {
				status: exitCode === 0 ? 'ok' : 'error',
				detail: `exit ${exitCode}${text ? `: ${text}` : ''}`,
				ms: performance.now() - started,
				evidence: { command: options.command, output, exitCode },
			};
			return mismatch ? { ...result, mismatch } : result;
		} catch (error) {
			return { status: 'error', detail: (error as Error).message, ms: performance.now() - started };
		}
	},
});
