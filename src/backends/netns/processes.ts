// Processes inside namespaces: started with `ip netns exec`, found again with `ip netns pids`.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { execa } from 'execa';

/** Starts a long-running program in a namespace, detached from labcheck, output to `logFile`. */
export function startDetached(namespace: string, argv: string[], logFile: string): ChildProcess {
	const fd = openSync(logFile, 'a');
	try {
		const child = spawn('ip', ['netns', 'exec', namespace, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
		child.unref();
		return child;
	} finally {
		closeSync(fd);
	}
}

export async function namespacePids(namespace: string): Promise<number[]> {
	const result = await execa('ip', ['netns', 'pids', namespace], { reject: false });
	return result.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Kills every process of the namespaces, then deletes them (which removes their veths, bridges and rules). */
export async function removeNamespaces(namespaces: string[]): Promise<void> {
	const pids = (await Promise.all(namespaces.map(namespacePids))).flat();
	for (const pid of pids) {
		try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
	}
	if (namespaces.length > 0) {
		await execa('ip', ['-force', '-batch', '-'], { input: namespaces.map((ns) => `netns del ${ns}`).join('\n'), reject: false });
	}
}

export async function labNamespaces(pattern: RegExp): Promise<string[]> {
	const result = await execa('ip', ['netns', 'list'], { reject: false });
	return result.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => pattern.test(n));
}
