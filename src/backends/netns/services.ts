// Starts a node's services: sshd and the calculator services, each a detached process inside the node.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../../errors.js';
import type { PlanNode } from '../../plan/types.js';
import { prepareSshd, type RunKey } from '../../../services/sshd.js';
import type { AgentClient } from '../../agent/client.js';
import { startDetached, type Enter } from './processes.js';

const RUN_SERVICE = fileURLToPath(new URL('../../../services/run.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

/** Starts every service of `node` and waits until each listens; returns their process ids. */
export async function startNodeServices(node: PlanNode, enter: Enter, run: { id: string; dir: string; key: RunKey }, agent: AgentClient): Promise<number[]> {
	await mkdir(join(run.dir, 'logs'), { recursive: true });
	return Promise.all(node.services.filter((s) => !s.stopped).map(async (service) => {
		const log = join(run.dir, 'logs', `${node.name}.${service.name}.log`);
		const argv = service.name === 'sshd'
			? await prepareSshd(join(run.dir, 'nodes', node.name, 'sshd'), service.port, run.key)
			: [process.execPath, RUN_SERVICE, service.name, '--lab', run.id, '--port', String(service.port),
				...Object.entries(service.peers ?? {}).flatMap(([op, at]) => [`--${op}`, at])];
		const child = startDetached(enter, argv, log);
		if (!(await agent.waitPort(service.port, READY_TIMEOUT_MS))) {
			const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
			throw new BackendError(`node "${node.name}": ${service.name} did not listen on port ${service.port}${tail ? `: ${tail}` : ''}`);
		}
		return child.pid!;
	}));
}
