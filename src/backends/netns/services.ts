// Starts a node's services: sshd, and one process serving all its calculator services.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../errors.js';
import { SERVICE_ENTRY } from '../../paths.js';
import type { PlanNode, PlanService } from '../../plan/types.js';
import { prepareSshd, type RunKey } from '../../../services/sshd.js';
import type { NodeNetwork } from '../../../probes/types.js';
import { startDetached, type Enter } from './processes.js';

const READY_TIMEOUT_MS = 10_000;

/** Starts the node's services that are not stopped, waits until each listens; their process id by service name. */
export async function startNodeServices(
	node: PlanNode,
	enter: Enter,
	run: { id: string; dir: string; key: RunKey; stopping?: () => boolean },
	network: NodeNetwork,
): Promise<Map<string, number>> {
	await mkdir(join(run.dir, 'logs'), { recursive: true });
	const wanted = node.services.filter((s) => !s.stopped);
	const http = wanted.filter((s) => s.name !== 'sshd');
	const sshd = wanted.find((s) => s.name === 'sshd');
	const pids = new Map<string, number>();
	const start = async (services: PlanService[], argv: string[], log: string) => {
		const child = startDetached(enter, argv, log);
		for (const s of services) pids.set(s.name, child.pid!);
		await Promise.all(
			services.map(async (service) => {
				if (await waitPort(network, service.port, READY_TIMEOUT_MS, run.stopping)) return;
				if (run.stopping?.())
					throw new BackendError(`node "${node.name}": interrupted while ${service.name} was starting`);
				const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
				throw new BackendError(
					`node "${node.name}": ${service.name} did not listen on port ${service.port}${tail ? `: ${tail}` : ''}`,
				);
			}),
		);
	};
	const peers = Object.entries(http.find((s) => s.peers)?.peers ?? {}).flatMap(([op, at]) => [`--${op}`, at]);
	await Promise.all([
		sshd &&
			start(
				[sshd],
				await prepareSshd(join(run.dir, 'nodes', node.name, 'sshd'), sshd.port, run.key),
				join(run.dir, 'logs', `${node.name}.sshd.log`),
			),
		http.length > 0 &&
			start(
				http,
				[process.execPath, SERVICE_ENTRY, '--lab', run.id, ...http.map((s) => `${s.name}:${s.port}`), ...peers],
				join(run.dir, 'logs', `${node.name}.services.log`),
			),
	]);
	return pids;
}

const portOpen = (network: NodeNetwork, port: number) =>
	new Promise<boolean>((resolve) => {
		const socket = network.connect('127.0.0.1', port);
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
	});

/** Whether something listens on `port` of the node's loopback within `timeoutMs`. */
async function waitPort(
	network: NodeNetwork,
	port: number,
	timeoutMs: number,
	stopping = () => false,
): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline && !stopping()) {
		if (await portOpen(network, port)) return true;
		await new Promise((r) => setTimeout(r, 10));
	}
	return false;
}
