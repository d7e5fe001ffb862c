// Starts a node's services: sshd, and one process serving all its calculator services.
import { mkdir, readFile, stat } from 'node:fs/promises';
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
	run: { id: string; dir: string; key: RunKey; stopping?: () => boolean; names?: string },
	network: NodeNetwork,
): Promise<Map<string, number>> {
	await mkdir(join(run.dir, 'logs'), { recursive: true });
	const wanted = node.services.filter((s) => !s.stopped);
	const http = wanted.filter((s) => s.name !== 'sshd');
	const sshd = wanted.find((s) => s.name === 'sshd');
	const pids = new Map<string, number>();
	const start = async (services: PlanService[], argv: string[], log: string) => {
		const from = (await stat(log).catch(() => ({ size: 0 }))).size; // the log is appended to: this start's lines
		const child = startDetached(enter, argv, log);
		for (const s of services) pids.set(s.name, child.pid!);
		await Promise.all(
			services.map(async (service) => {
				if (await waitReady(network, service, { log, from }, READY_TIMEOUT_MS, run.stopping)) return;
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
				[
					process.execPath,
					SERVICE_ENTRY,
					'--lab',
					run.id,
					...http.map((s) => `${s.name}:${s.port}${s.address ? `@${s.address}` : ''}`),
					...peers,
					...(http.some((s) => s.name === 'dns') ? ['--names', run.names ?? ''] : []),
				],
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

/**
 * Whether the service listens within `timeoutMs`: a TCP service accepts on the node's loopback; a UDP one (which
 * cannot be asked without an answer of its own) has said so in its log.
 */
async function waitReady(
	network: NodeNetwork,
	service: PlanService,
	log: { log: string; from: number },
	timeoutMs: number,
	stopping = () => false,
): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	const said = `${service.name} listening on ${service.address ?? '0.0.0.0'}:${service.port}`;
	while (Date.now() < deadline && !stopping()) {
		const ready =
			service.proto === 'udp'
				? (await readFile(log.log).catch(() => Buffer.alloc(0))).subarray(log.from).toString().includes(said)
				: await portOpen(network, service.port);
		if (ready) return true;
		await new Promise((r) => setTimeout(r, 10));
	}
	return false;
}
