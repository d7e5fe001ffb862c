// The commands the netns backend runs: iproute2 batches and programs inside a namespace.
import { execa } from 'execa';
import { BackendError } from '../../errors.js';

/** Runs iproute2 commands, one a line, in one process (`ip [-n ns] -batch -`). */
export async function ipBatch(namespace: string | undefined, lines: string[], what: string): Promise<void> {
	if (lines.length === 0) return;
	const args = [...(namespace ? ['-n', namespace] : []), '-batch', '-'];
	const result = await execa('ip', args, { input: `${lines.join('\n')}\n`, reject: false });
	if (result.exitCode !== 0) {
		throw new BackendError(`${what}: ip ${args.join(' ')} failed: ${result.stderr.trim()}`, undefined, { cause: result });
	}
}

/** Runs a program inside a namespace and returns its stdout; throws with its stderr. */
export async function nsExec(namespace: string, argv: string[], what: string, input?: string): Promise<string> {
	const result = await execa('ip', ['netns', 'exec', namespace, ...argv], { input, reject: false });
	if (result.exitCode !== 0) {
		throw new BackendError(`${what}: ${argv.join(' ')} failed: ${(result.stderr || result.stdout).trim()}`, undefined, { cause: result });
	}
	return result.stdout;
}

export interface Batch { namespace: string; lines: string[]; what: string }

/**
 * Runs many iproute2 batches, one per namespace, from a single shell: each process spawned from a
 * large Node process costs it tens of milliseconds, a shell's fork costs almost nothing.
 */
export async function ipBatches(batches: Batch[]): Promise<void> {
	const script = batches.filter((b) => b.lines.length > 0).map((b, i) =>
		`ip -n '${b.namespace}' -batch - <<'LABCHECK_${i}' || { echo '${b.what.replace(/'/g, '')}' >&2; exit 1; }\n${b.lines.join('\n')}\nLABCHECK_${i}`).join('\n');
	if (!script) return;
	const result = await execa('sh', ['-s'], { input: `${script}\n`, reject: false });
	if (result.exitCode !== 0) {
		const lines = result.stderr.trim().split('\n');
		throw new BackendError(`${lines.at(-1)}: ${lines.slice(0, -1).join(' ').trim()}`, undefined, { cause: result });
	}
}

/** Runs shell commands inside namespaces, all from one shell (see ipBatches). */
export async function nsScripts(scripts: Array<{ namespace: string; script: string; what: string }>): Promise<void> {
	if (scripts.length === 0) return;
	const text = scripts.map((s, i) => `ip netns exec '${s.namespace}' sh -e <<'LABCHECK_${i}' || { echo '${s.what.replace(/'/g, '')}' >&2; exit 1; }\n${s.script}\nLABCHECK_${i}`).join('\n');
	const result = await execa('sh', ['-s'], { input: `${text}\n`, reject: false });
	if (result.exitCode !== 0) {
		const lines = result.stderr.trim().split('\n');
		throw new BackendError(`${lines.at(-1)}: ${lines.slice(0, -1).join(' ').trim()}`, undefined, { cause: result });
	}
}
