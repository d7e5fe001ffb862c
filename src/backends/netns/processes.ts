// Processes inside namespaces: started with `ip netns exec`, found again with `ip netns pids`.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { execa } from 'execa';

/** Signals a process that may have exited meanwhile. */
export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
	try {
		process.kill(pid, signal);
	} catch {
		/* already gone */
	}
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

/**
 * Processes whose network namespace is one of `namespaces`: one pass over /proc instead of `ip netns pids` for each.
 */
export async function namespacePids(namespaces: string[]): Promise<number[]> {
	const inodes = new Set(
		(
			await Promise.all(
				namespaces.map((ns) =>
					stat(`/run/netns/${ns}`).then(
						(s) => `net:[${s.ino}]`,
						() => undefined,
					),
				),
			)
		).filter(Boolean),
	);
	if (inodes.size === 0) return [];
	const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
	const found = await Promise.all(
		pids.map(async (pid) =>
			inodes.has(await readlink(`/proc/${pid}/ns/net`).catch(() => '')) ? Number(pid) : undefined,
		),
	);
	return found.filter((p): p is number => p !== undefined);
}

/** Kills every process of the namespaces, then deletes them (which removes their veths, bridges and rules). */
export async function removeNamespaces(namespaces: string[]): Promise<void> {
	for (const pid of await namespacePids(namespaces)) killPid(pid);
	if (namespaces.length > 0) {
		await execa('ip', ['-force', '-batch', '-'], {
			input: namespaces.map((ns) => `netns del ${ns}`).join('\n'),
			reject: false,
		});
	}
}

export async function labNamespaces(pattern: RegExp): Promise<string[]> {
	const result = await execa('ip', ['netns', 'list'], { reject: false });
	return result.stdout
		.split('\n')
		.map((l) => l.split(' ')[0])
		.filter((n) => pattern.test(n));
}

/** Every process as pid → { parent, command line }, from one `ps`. */
async function processTable(): Promise<Map<number, { ppid: number; args: string }>> {
	const { stdout } = await execa('ps', ['-eo', 'pid=,ppid=,args='], { reject: false });
	const table = new Map<number, { ppid: number; args: string }>();
	for (const line of stdout.split('\n')) {
		const [pid, ppid, ...args] = line.trim().split(/\s+/);
		if (pid) table.set(Number(pid), { ppid: Number(ppid), args: args.join(' ') });
	}
	return table;
}

/** The processes and all their descendants (an sshd's sessions outlive the sshd that forked them). */
function withDescendants(table: Map<number, { ppid: number }>, roots: Iterable<number>): Set<number> {
	const found = new Set(roots);
	for (let grew = true; grew; ) {
		grew = false;
		for (const [pid, { ppid }] of table)
			if (found.has(ppid) && !found.has(pid)) {
				found.add(pid);
				grew = true;
			}
	}
	return found;
}

/** Kills processes and everything they started. */
export async function killTrees(pids: number[]): Promise<void> {
	if (pids.length === 0) return;
	for (const pid of withDescendants(await processTable(), pids)) killPid(pid);
}

/**
 * Processes a run started outside named namespaces (in containers' networks): found by the run id in their command
 * line, with their descendants.
 */
export async function killRunProcesses(id: string): Promise<void> {
	const table = await processTable();
	const roots = [...table]
		.filter(([, p]) => p.args.includes(`--lab ${id}`) || p.args.includes(`/run/labcheck/${id}/`))
		.map(([pid]) => pid);
	for (const pid of withDescendants(table, roots)) killPid(pid);
}
