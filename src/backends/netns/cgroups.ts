// Control groups labcheck makes: a Docker engine's cgroup parent, and the limits of the commands a
// scenario runs in a node (so a fork bomb or a memory hog in a node cannot take the machine down).
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killPid } from './processes.js';

const ROOT = '/sys/fs/cgroup';

/**
 * Every directory named `parent` under the cgroup root or one of its controllers, and their children: deepest first.
 */
async function cgroupDirs(parent: string): Promise<string[]> {
	const controllers = await readdir(ROOT).catch(() => [] as string[]);
	const roots = [join(ROOT, parent), ...controllers.map((c) => join(ROOT, c, parent))];
	const found: string[] = [];
	const walk = async (dir: string) => {
		const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
		if (!entries) return;
		for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
		found.push(dir);
	};
	for (const root of roots) await walk(root);
	return found;
}

/** Kills what still runs in those cgroups. */
export async function killCgroup(parent: string): Promise<void> {
	for (const dir of await cgroupDirs(parent)) {
		const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
			.split('\n')
			.filter(Boolean)
			.map(Number);
		for (const pid of pids) killPid(pid);
	}
}

export async function removeCgroups(parent: string): Promise<void> {
	for (let attempt = 0; attempt < 20; attempt++) {
		const dirs = await cgroupDirs(parent);
		if (dirs.length === 0) return;
		await Promise.all(dirs.map((d) => rmdir(d).catch(() => {})));
		if ((await cgroupDirs(parent)).length === 0) return;
		await sleep(50);
	}
}

/** What a node's commands may use together: processes (a fork bomb stops there) and memory. */
export const NODE_LIMITS = { pids: 1024, memoryBytes: 1024 ** 3 };

export const nodeCgroup = (id: string, node: string) => `labcheck-${id}-cmd-${node}`;

/**
 * Makes the node's command cgroups (cgroup v1 pids and memory controllers, or v2) with their limits;
 * returns the `cgroup.procs` files a command joins. A controller that is missing is skipped.
 */
export async function limitNode(id: string, node: string): Promise<string[]> {
	const name = nodeCgroup(id, node);
	const procs: string[] = [];
	const v2 = await readFile(join(ROOT, 'cgroup.controllers'), 'utf8').then(
		() => true,
		() => false,
	);
	const settings: Array<[string, Array<[string, string]>]> = v2
		? [
				[
					join(ROOT, name),
					[
						['pids.max', String(NODE_LIMITS.pids)],
						['memory.max', String(NODE_LIMITS.memoryBytes)],
					],
				],
			]
		: [
				[join(ROOT, 'pids', name), [['pids.max', String(NODE_LIMITS.pids)]]],
				[join(ROOT, 'memory', name), [['memory.limit_in_bytes', String(NODE_LIMITS.memoryBytes)]]],
			];
	for (const [dir, files] of settings) {
		try {
			await mkdir(dir, { recursive: true });
			for (const [file, value] of files) await writeFile(join(dir, file), value).catch(() => {});
			procs.push(join(dir, 'cgroup.procs'));
		} catch {
			/* no such controller here */
		}
	}
	return procs;
}

/** Every cgroup of a run's node commands: killed and removed. */
export async function removeNodeCgroups(id: string): Promise<void> {
	const prefix = `labcheck-${id}-cmd-`;
	const names = new Set<string>();
	for (const dir of [ROOT, ...(await readdir(ROOT).catch(() => [] as string[])).map((c) => join(ROOT, c))]) {
		for (const entry of await readdir(dir).catch(() => [] as string[])) if (entry.startsWith(prefix)) names.add(entry);
	}
	for (const name of names) {
		await killCgroup(name);
		await removeCgroups(name);
	}
}
