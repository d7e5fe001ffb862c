// Runs the real CLI, and looks at the machine for anything a run could have left behind.
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/labcheck.js`;

export const labcheck = (args: string[], env: Record<string, string> = {}) =>
	execa(process.execPath, [BIN, ...args], {
		cwd: ROOT,
		reject: false,
		stripFinalNewline: false,
		env: { FORCE_COLOR: '0', ...env },
	});

export async function labNamespaces(): Promise<string[]> {
	const { stdout } = await execa('ip', ['netns', 'list']);
	return stdout
		.split('\n')
		.map((l) => l.split(' ')[0])
		.filter((n) => /^lc(sw)?-/.test(n));
}

/** Processes labcheck starts for labs: calculator services, sshd with a per-run config, dockerd, probe processes. */
export async function labProcesses(): Promise<string[]> {
	const { stdout } = await execa('ps', ['-eo', 'pid,args', '--no-headers']);
	return stdout
		.split('\n')
		.filter((l) => /bundle\/(services|prober)\.js|\/run\/labcheck\/|labcheck-\w{4}-|sleep 3600 & wait/.test(l));
}

/** The root namespace's iptables rules and non-default policies, table by table, without counters. */
export async function rootIptables(): Promise<string> {
	const { stdout } = await execa('iptables-save', [], { reject: false });
	let table = '';
	const lines: string[] = [];
	for (const line of stdout.split('\n')) {
		if (line.startsWith('*')) table = line;
		else if (line.startsWith('-') || (line.startsWith(':') && !/^:\S+ ACCEPT/.test(line)))
			lines.push(`${table} ${line.replace(/\[\d+:\d+\]/g, '')}`);
	}
	return lines.join('\n');
}

export async function rootLinks(): Promise<string> {
	const { stdout } = await execa('ip', ['-o', 'link', 'show']);
	return stdout
		.split('\n')
		.map((l) => l.split(':')[1]?.trim())
		.sort()
		.join(' ');
}

/** containerd's shim sockets: each container of a run leaves one unless labcheck removes it. */
export async function shimSockets(): Promise<string[]> {
	return readdir('/run/containerd/s').catch(() => [] as string[]);
}

export interface MachineSnapshot {
	iptables: string;
	links: string;
	shims: string[];
}
export const snapshot = async (): Promise<MachineSnapshot> => ({
	iptables: await rootIptables(),
	links: await rootLinks(),
	shims: await shimSockets(),
});

/**
 * Everything a run could leave: namespaces, processes, root firewall rules and interfaces, Docker's data, cgroups and
 * mounts.
 */
export async function assertNothingLeft(t: import('ava').ExecutionContext, before: MachineSnapshot): Promise<void> {
	t.deepEqual(await labNamespaces(), [], 'no namespace left');
	t.deepEqual(await labProcesses(), [], 'no service, sshd or dockerd left');
	t.is(await rootIptables(), before.iptables, 'root namespace iptables unchanged');
	t.is(await rootLinks(), before.links, 'no interface added to the root namespace');
	t.deepEqual(await dockerLeftovers(), [], 'no Docker data, cgroup or mount left');
	const shims = new Set(before.shims);
	t.deepEqual(
		(await shimSockets()).filter((s) => !shims.has(s)),
		[],
		'no containerd shim socket left in /run/containerd/s',
	);
}

export async function dockerLeftovers(): Promise<string[]> {
	const { stdout } = await execa(
		'sh',
		[
			'-c',
			'ls -d /var/lib/labcheck/* /sys/fs/cgroup/*/labcheck-* /sys/fs/cgroup/labcheck-* 2>/dev/null; ' +
				'grep -E "/var/lib/labcheck|/run/labcheck" /proc/mounts',
		],
		{ reject: false },
	);
	return stdout.split('\n').filter(Boolean);
}

/**
 * Runs a slow fixture and sends Ctrl-C as soon as `building()` sees its build under way; then the run
 * must end with 130 before any probe and leave nothing behind.
 */
export async function interruptBuild(
	t: import('ava').ExecutionContext,
	fixture: string,
	building: () => Promise<boolean>,
): Promise<void> {
	const before = await snapshot();
	const child = labcheck(['run', fixture, '--no-report']);
	let exited = false;
	void child.finally(() => {
		exited = true;
	});
	while (!exited && !(await building())) await sleep(5);
	child.kill('SIGINT');
	const run = await child;
	t.is(run.exitCode, 130, run.stderr);
	t.notRegex(run.stdout, /ping host -> /, 'interrupted before any probe');
	await assertNothingLeft(t, before);
}

/** Starts `labcheck run` on a slow fixture and returns once its lab is up (its sshd runs), to interrupt it. */
export async function startSlowRun(fixture: string) {
	const child = labcheck(['run', fixture, '--no-report']);
	for (let i = 0; i < 400 && !(await labProcesses()).some((p) => /sshd -D -e -f \/run\/labcheck/.test(p)); i++)
		await sleep(50);
	await sleep(300);
	return { child }; // wrapped: a returned subprocess (a thenable) would be awaited to its end
}
