// A node's own view of the machine, for the commands a scenario runs in it (`exec` steps and
// checks, `labcheck exec`): the machine's files as a copy-on-write overlay whose writes land in the
// run's state directory, private /tmp and /run, its own host name and an /etc/hosts naming the lab's
// nodes, its own process table (pid namespace), harmless devices only, a read-only /sys, and no
// capability to mount, leave the chroot, load modules or set the clock. A scenario downloaded from
// a course page can `rm -rf /` or `kill -9 -1` in a node and the machine keeps its files and processes.
// One holder process per node keeps the mount namespace (and the overlay) alive between
// commands, so a node's files persist from one step to the next, like a VM's disk; it lives in the
// node's network namespace, so a teardown ends it with everything else there.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../errors.js';
import { limitNode } from './cgroups.js';
import { isAlive } from './state.js';

export interface NodeFiles {
	id: string;
	dir: string;
	namespace: string;
	node: string;
	hosts: string;
}

const root = (files: NodeFiles) => join(files.dir, 'nodes', files.node, 'fs');

// Runs as the holder, pid 1 of the node's own pid namespace: mounts the node's view, says so,
// then sleeps until the lab goes. /dev holds the harmless devices only; /sys is read-only.
const HOLDER = `set -e
R="$1"; NODE="$2"; S="$3"
mount -t overlay overlay -o "lowerdir=/,upperdir=$R/upper,workdir=$R/work" "$R/root"
mount -t tmpfs -o mode=755,nosuid tmpfs "$R/root/dev"
for d in null zero full random urandom tty; do touch "$R/root/dev/$d"; mount --bind "/dev/$d" "$R/root/dev/$d"; done
mkdir -p "$R/root/dev/pts" "$R/root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/root/dev/pts"
ln -s pts/ptmx "$R/root/dev/ptmx"; ln -s /proc/self/fd "$R/root/dev/fd"
ln -s /proc/self/fd/0 "$R/root/dev/stdin"; ln -s /proc/self/fd/1 "$R/root/dev/stdout"
ln -s /proc/self/fd/2 "$R/root/dev/stderr"
mount --rbind /sys "$R/root/sys"
mount -o remount,bind,ro "$R/root/sys"
mount -t proc proc "$R/root/proc"
mount --bind "$R/tmp" "$R/root/tmp"
mount --bind "$R/run" "$R/root/run"
# The run's SSH key stays readable where \`labcheck up\` prints it (ssh -i …), and nothing else of the run.
if [ -e "$S/id_ed25519" ]; then
  mkdir -p "$R/root$S"; touch "$R/root$S/id_ed25519"
  mount --bind -o ro "$S/id_ed25519" "$R/root$S/id_ed25519"
fi
hostname "$NODE"
echo "$NODE" > "$R/root/etc/hostname"
cat "$R/hosts" > "$R/root/etc/hosts"
echo ready
exec sleep infinity`;

// Capabilities a node's commands never get: mounting (a way out of the overlay), a way out of the
// chroot, kernel modules, the clock, raw devices. They keep what a network lab needs (net_admin, net_raw…).
const DROPPED = [
	'sys_admin',
	'sys_chroot',
	'sys_module',
	'sys_boot',
	'sys_time',
	'sys_rawio',
	'mknod',
	'syslog',
	'sys_ptrace',
	'mac_admin',
	'mac_override',
	'audit_control',
	'linux_immutable',
];

/**
 * The holder's pid (unshare's, in the node's mount and uts namespaces, parent of the pid namespace), started when the
 * node has none yet (lazily: most labs never exec).
 */
export function nodeHolder(files: NodeFiles): Promise<number> {
	// One holder a node: concurrent commands in a node that has none yet wait for the same one (two
	// overlays on one work directory would fail).
	const key = root(files);
	let holder = holders.get(key);
	if (!holder) {
		holder = startHolder(files);
		holders.set(key, holder);
		holder.catch(() => holders.delete(key));
	}
	return holder.then((pid) => {
		if (isAlive(pid)) return pid;
		holders.delete(key);
		return nodeHolder(files);
	});
}

const holders = new Map<string, Promise<number>>();

async function startHolder(files: NodeFiles): Promise<number> {
	const base = root(files);
	const pidFile = join(base, 'holder.pid');
	const known = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
	if (known && isAlive(known)) return known;
	for (const sub of ['upper', 'work', 'root', 'tmp', 'run'])
		await mkdir(join(base, sub), { recursive: true, mode: 0o755 });
	await writeFile(join(base, 'hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${files.node}\n${files.hosts}`);
	// `unshare --fork`: the holder (sh, then sleep) is pid 1 of a new pid namespace; unshare waits for it.
	const child = spawn(
		'ip',
		[
			'netns',
			'exec',
			files.namespace,
			'unshare',
			'--mount',
			'--uts',
			'--pid',
			'--fork',
			'--propagation',
			'private',
			'sh',
			'-c',
			HOLDER,
			'holder',
			base,
			files.node,
			files.dir,
		],
		{
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
		},
	);
	const ready = await new Promise<string | undefined>((resolve) => {
		let err = '';
		child.stdout.on('data', (d: Buffer) => {
			if (d.toString().includes('ready')) resolve(undefined);
		});
		child.stderr.on('data', (d: Buffer) => {
			err += d.toString();
		});
		child.once('exit', (code) => resolve(`exited ${code}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
		child.once('error', (error) => resolve(error.message));
	});
	if (ready !== undefined)
		throw new BackendError(`node "${files.node}": could not give it its own file system (${ready})`);
	child.stdout.destroy();
	child.stderr.destroy();
	child.unref();
	await writeFile(pidFile, String(child.pid));
	return child.pid!;
}

/** The command prefix that runs a program inside the node: its network, its mounts and host name, its root. */
export async function enterNode(files: NodeFiles): Promise<string[]> {
	const pid = await nodeHolder(files);
	// The command first joins the node's cgroups (its limits), then enters the node.
	const procs = await limitNode(files.id, files.node);
	return [
		'sh',
		'-c',
		`${procs.map((f) => `echo $$ > ${f}`).join(' && ') || 'true'} && exec "$@"`,
		'labcheck-enter',
		'nsenter',
		`--mount=/proc/${pid}/ns/mnt`,
		`--uts=/proc/${pid}/ns/uts`,
		`--pid=/proc/${pid}/ns/pid_for_children`,
		`--net=/run/netns/${files.namespace}`,
		'--wd=/',
		'chroot',
		join(root(files), 'root'),
		'setpriv',
		`--bounding-set=${DROPPED.map((c) => `-${c}`).join(',')}`,
		'--',
	];
}

/** /etc/hosts lines naming every node of a lab by its addresses: NAME and NAME.lab. */
export function hostsFile(nodes: Array<{ name: string; interfaces: Array<{ address: string }> }>): string {
	const lines = nodes.flatMap((n) =>
		n.interfaces.map((i, k) => `${i.address}\t${k === 0 ? `${n.name} ${n.name}.lab` : `${n.name}-${k}`}`),
	);
	return `${lines.join('\n')}\n`;
}
