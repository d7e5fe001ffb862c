// A dedicated Docker engine per lab node: dockerd started in the node's network namespace, so its
// docker0 and NAT live inside the lab (as in the seeds' VM) and nothing of Docker touches the root
// namespace's network. Its data, sockets and cgroups carry the run id so `labcheck clean` finds them.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, closeSync, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { BackendError, EnvironmentError } from '../../../errors.js';
import { killPid } from '../processes.js';
import { killCgroup, removeCgroups } from '../cgroups.js';
import { isAlive } from '../state.js';

export interface EngineInfo {
	node: string;
	namespace: string;
	socket: string;
	pidFile: string;
	dataRoot: string;
	execRoot: string;
	cgroupParent: string;
	log: string;
}

export const DATA_ROOT = '/var/lib/labcheck';

// dockerode (and the gRPC code it brings) loads only for labs with containers.
const client = async (socketPath: string): Promise<Docker> => new (await import('dockerode')).default({ socketPath });

export function engineInfo(id: string, dir: string, node: string, namespace: string): EngineInfo {
	const short = join(dir, `d-${node}`.slice(0, 14));
	return {
		node,
		namespace,
		socket: `${short}.sock`,
		pidFile: `${short}.pid`,
		execRoot: `${short}.x`,
		dataRoot: join(DATA_ROOT, id, node),
		cgroupParent: `labcheck-${id}-${node}`,
		log: join(dir, 'logs', `${node}.dockerd.log`),
	};
}

export async function startEngine(info: EngineInfo): Promise<Docker> {
	if (
		!existsSync('/usr/sbin/dockerd') &&
		(await execa('sh', ['-c', 'command -v dockerd'], { reject: false })).exitCode !== 0
	) {
		throw new EnvironmentError(
			'this lab runs Docker but the machine lacks dockerd',
			'run `npx labcheck doctor --fix` (or apt-get install docker.io)',
		);
	}
	await mkdir(info.dataRoot, { recursive: true });
	await mkdir(join(info.log, '..'), { recursive: true });
	const fd = openSync(info.log, 'a');
	try {
		// nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroups dockerd needs.
		spawn(
			'nsenter',
			[
				`--net=/var/run/netns/${info.namespace}`,
				'dockerd',
				'--data-root',
				info.dataRoot,
				'--exec-root',
				info.execRoot,
				'--pidfile',
				info.pidFile,
				'-H',
				`unix://${info.socket}`,
				'--cgroup-parent',
				info.cgroupParent,
				'--bridge=none',
				'--iptables=true',
				'--ip-forward=true',
				'--log-level=warn',
			],
			{ detached: true, stdio: ['ignore', fd, fd] },
		).unref();
	} finally {
		closeSync(fd);
	}
	const docker = await client(info.socket);
	const deadline = Date.now() + 20_000;
	while (Date.now() < deadline) {
		try {
			await docker.ping();
			return docker;
		} catch {
			await sleep(50);
		}
	}
	const tail = (await readFile(info.log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
	throw new BackendError(`node "${info.node}": dockerd did not start${tail ? `: ${tail}` : ''}`);
}

/**
 * containerd's shims leave a socket each in /run/containerd/s/, whatever containerd they belong to,
 * named sha256("<containerd address>/<namespace>/<container id>"): the engine's containers are
 * known from its data root, so their sockets are found even after a SIGKILL.
 */
async function removeShimSockets(info: EngineInfo): Promise<void> {
	const address = join(info.execRoot, 'containerd', 'containerd.sock');
	const ids = await readdir(join(info.dataRoot, 'containers')).catch(() => [] as string[]);
	await Promise.all(
		ids.map((id) =>
			rm(join('/run/containerd/s', createHash('sha256').update(`${address}/moby/${id}`).digest('hex')), {
				force: true,
			}),
		),
	);
}

/** Stops the engine and removes every trace: containers, their processes, mounts, data, cgroups. */
export async function stopEngine(info: EngineInfo): Promise<void> {
	const docker = await client(info.socket);
	const pid = Number(await readFile(info.pidFile, 'utf8').catch(() => '0'));
	if (pid && isAlive(pid)) {
		try {
			const containers = await docker.listContainers({ all: true });
			await Promise.all(
				containers.map((c) =>
					docker
						.getContainer(c.Id)
						.remove({ force: true })
						.catch(() => {}),
				),
			);
		} catch {
			/* engine not answering: the cgroup sweep below still finds its containers */
		}
		killPid(pid, 'SIGTERM');
		for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
		killPid(pid);
	}
	await killCgroup(info.cgroupParent);
	const mounts = (await readFile('/proc/mounts', 'utf8'))
		.split('\n')
		.map((l) => l.split(' ')[1])
		.filter((m) => m && (m.startsWith(info.dataRoot) || m.startsWith(info.execRoot)))
		.sort()
		.reverse();
	for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
	await removeShimSockets(info);
	await rm(info.dataRoot, { recursive: true, force: true });
	await rm(info.execRoot, { recursive: true, force: true });
	await rmdir(join(info.dataRoot, '..')).catch(() => {}); // the run's folder, once its last engine is gone
	await Promise.all([info.socket, info.pidFile].map((f) => rm(f, { force: true })));
	await removeCgroups(info.cgroupParent);
}
