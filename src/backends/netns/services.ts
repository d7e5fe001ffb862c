// Starts a plan's services in their nodes: sshd and the calculator services, each a detached process.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { prepareSshd, type RunKey } from '../../../services/sshd.js';
import type { AgentClient } from '../../agent/client.js';
import { nodeNamespace } from './names.js';
import { startDetached } from './processes.js';

const RUN_SERVICE = fileURLToPath(new URL('../../../services/run.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

export async function startServices(plan: Plan, id: string, dir: string, key: RunKey, agents: Map<string, AgentClient>): Promise<void> {
	await mkdir(join(dir, 'logs'), { recursive: true });
	const started = plan.nodes.flatMap((node) => node.services.map(async (service) => {
		const ns = nodeNamespace(id, node.name);
		const log = join(dir, 'logs', `${node.name}.${service.name}.log`);
		const argv = service.name === 'sshd'
			? await prepareSshd(join(dir, 'nodes', node.name, 'sshd'), service.port, key)
			: [process.execPath, RUN_SERVICE, service.name, '--port', String(service.port),
				...Object.entries(service.peers ?? {}).flatMap(([op, at]) => [`--${op}`, at])];
		startDetached(ns, argv, log);
		if (!(await agents.get(node.name)!.waitPort(service.port, READY_TIMEOUT_MS))) {
			const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
			throw new BackendError(`node "${node.name}": ${service.name} did not listen on port ${service.port}${tail ? `: ${tail}` : ''}`);
		}
	}));
	await Promise.all(started);
}
