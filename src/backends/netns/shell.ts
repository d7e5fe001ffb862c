// The commands the netns backend runs: iproute2 batches and programs inside a namespace.
import { execa } from 'execa';
import { BackendError } from '../../errors.js';

/** Runs iproute2 commands, one a line, in one process (`ip [-n ns] -batch -`). */
export async function ipBatch(namespace: string | undefined, lines: string[], what: string): Promise<void> {
	if (lines.length === 0) return;
	const args = [...(namespace ? ['-n', namespace] : []), '-batch', '-'];
	const result = await execa('ip', args, { input: `${lines.join('\n')}\n`, reject: false });
	if (result.exitCode !== 0) {
		throw new BackendError(`${what}: ip ${args.join(' ')} failed: ${result.stderr.trim()}`, undefined, {
			cause: result,
		});
	}
}

/** Runs a program inside a namespace and returns its stdout; throws with its stderr. */
export async function nsExec(namespace: string, argv: string[], what: string, input?: string): Promise<string> {
	const result = await execa('ip', ['netns', 'exec', namespace, ...argv], { input, reject: false });
	if (result.exitCode !== 0) {
		throw new BackendError(`${what}: ${argv.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`, undefined, {
			cause: result,
		});
	}
	return result.stdout;
}

/**
 * Runs a shell script (see topology.ts); a failing part names itself on the last line of stderr
 * (`fail WHAT`), after what the failing command printed.
 */
export async function runScript(script: string): Promise<void> {
	const result = await execa('sh', ['-s'], { input: script, reject: false });
	if (result.exitCode !== 0) {
		const lines = result.stderr.trim().split('\n');
		throw new BackendError(
			`${lines.at(-1)}${lines.length > 1 ? `: ${lines.slice(0, -1).join(' ').trim()}` : ''}`,
			undefined,
			{ cause: result },
		);
	}
}
