// Processes inside namespaces: started with `ip netns exec`, found again with `ip netns pids`.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { execa } from 'execa';

/** Signals a process that may have exited meanwhile. */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
	try { process.kill(pid, signal); } catch { /* already gone */ }
}

/** How to run a program inside a node: `ip netns exec NS` for namespaces, nsenter for a container's network. */
export type Enter = string[];
export const enterNamespace = (namespace: string): Enter => ['ip', 'netns', 'exec', namespace];
export const enterNetworkOf = (pid: number): Enter => ['nsenter', `--net=/proc/${pid}/ns/net`];

/** Starts a long-running program inside a node, detached from labcheck, output to `logFile`. */
export function startDetached(enter: Enter, argv: string[], logFile: string): ChildProcess {
	const fd = openSync(logFile, 'a');
	try {
		const child = spawn(enter[0], [...enter.slice(1), ...argv], { detached: true, stdio: ['ignore', fd, fd] });
		child.unref();
		return child;
	} finally {
		closeSync(fd);
	}
}

/** Processes whose network namespace is one of `namespaces`: one pass over /proc instead of `ip netns pids` for each. */
export async function namespacePids(namespaces: string[]): Promise<number[]> {
	const inodes = new Set((await Promise.all(namespaces.map((ns) => stat(`/run/netns/${ns}`).then((s) => `net:[${s.ino}]`, () => undefined)))).filter(Boolean));
	if (inodes.size === 0) return [];
	const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
	const found = await Promise.all(pids.map(async (pid) => (inodes.has(await readlink(`/proc/${pid}/ns/net`).catch(() => '')) ? Number(pid) : undefined)));
	return found.filter((p): p is number => p !== undefined);
}

/** Kills every process of the namespaces, then deletes them (which removes their veths, bridges and rules). */
export async function removeNamespaces(namespaces: string[]): Promise<void> {
	for (const pid of await namespacePids(namespaces)) killPid(pid);
	if (namespaces.length > 0) {
		await execa('ip', ['-force', '-batch', '-'], { input: namespaces.map((ns) => `netns del ${ns}`).join('\n'), reject: false });
	}
}

export async function labNamespaces(pattern: RegExp): Promise<string[]> {
	const result = await execa('ip', ['netns', 'list'], { reject: false });
	return result.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => pattern.test(n));
}

/** Processes a run started outside named namespaces (in containers' networks): found by the run id in their command line. */
export async function killRunProcesses(id: string): Promise<void> {
	const { stdout } = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
	for (const line of stdout.split('\n')) {
		const [pid, ...args] = line.trim().split(/\s+/);
		const cmd = args.join(' ');
		if (cmd.includes(`--lab ${id}`) || cmd.includes(`/run/labcheck/${id}/`)) {
			killPid(Number(pid));
		}
	}
}
