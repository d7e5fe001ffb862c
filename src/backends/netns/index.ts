// The embedded backend: every node a network namespace, every network a bridge in its own namespace.
import { mkdir, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { AgentClient } from '../../agent/client.js';
import { EnvironmentError } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import type { ProbeRequest, ProbeResult } from '../../../probes/types.js';
import { createRunKey, SSHD, type RunKey } from '../../../services/sshd.js';
import type { Backend, BuildOptions, Lab } from '../types.js';
import { newRunId, nodeNamespace, stateDir } from './names.js';
import { removeNamespaces } from './processes.js';
import { startServices } from './services.js';
import { writeState } from './state.js';
import { createTopology, namespacesOf } from './topology.js';

async function missing(command: string): Promise<boolean> {
	return (await execa('sh', ['-c', `command -v ${command}`], { reject: false })).exitCode !== 0;
}

export const netnsBackend: Backend = {
	name: 'netns',
	async preflight(plan) {
		if (process.getuid?.() !== 0) {
			throw new EnvironmentError('labcheck builds labs in network namespaces and needs root (CAP_NET_ADMIN)', 'run it as root, e.g. `sudo npx labcheck run ...`');
		}
		const needs = [['ip', 'iproute2'], ['iptables-restore', 'iptables']];
		if (plan.nodes.some((n) => n.services.some((s) => s.name === 'sshd'))) needs.push([SSHD, 'openssh-server'], ['ssh-keygen', 'openssh-client']);
		const absent = [];
		for (const [command, pkg] of needs) if (await missing(command)) absent.push(pkg);
		if (absent.length > 0) {
			throw new EnvironmentError(`this machine lacks ${absent.join(', ')}`, `run \`npx labcheck doctor --fix\` (or apt-get install ${absent.join(' ')})`);
		}
	},
	async build(plan, options) {
		const lab = new NetnsLab(plan, newRunId(), options);
		try {
			await lab.start();
		} catch (error) {
			await lab.teardown();
			throw error;
		}
		return lab;
	},
};

class NetnsLab implements Lab {
	private readonly agents = new Map<string, AgentClient>();
	private readonly dir: string;
	private key?: RunKey;
	private down = false;

	constructor(private readonly plan: Plan, readonly id: string, private readonly options: BuildOptions) {
		this.dir = stateDir(id);
	}

	private state(kept: boolean) {
		return {
			id: this.id, pid: process.pid, scenario: this.plan.file, name: this.plan.name, created: new Date().toISOString(), kept,
			namespaces: namespacesOf(this.plan, this.id),
			nodes: Object.fromEntries(this.plan.nodes.map((n) => [n.name, nodeNamespace(this.id, n.name)])),
		};
	}

	async start(): Promise<void> {
		const log = this.options.log ?? (() => {});
		await mkdir(this.dir, { recursive: true, mode: 0o700 });
		await writeState(this.dir, this.state(false));
		log(`lab ${this.id}: ${this.plan.nodes.length} nodes, ${this.plan.networks.length} networks`);
		await createTopology(this.plan, this.id);
		const busy = new Set([...this.plan.checks.map((c) => c.from), ...this.plan.nodes.filter((n) => n.services.length > 0).map((n) => n.name)]);
		for (const node of busy) this.agents.set(node, new AgentClient(node, nodeNamespace(this.id, node)));
		this.key = await createRunKey(this.dir);
		await Promise.all([...this.agents.values()].map((a) => a.ready));
		await startServices(this.plan, this.id, this.dir, this.key, this.agents);
		log(`lab ${this.id}: up`);
	}

	get sshKeyFile(): string | undefined {
		return this.key?.privateFile;
	}

	async probe(from: string, request: ProbeRequest): Promise<ProbeResult> {
		const agent = this.agents.get(from);
		if (!agent) return { status: 'error', detail: `no agent on ${from}`, ms: 0 };
		try {
			return await agent.probe(request, { sshKeyFile: this.key?.privateFile });
		} catch (error) {
			return { status: 'error', detail: (error as Error).message, ms: 0 };
		}
	}

	async detach(): Promise<void> {
		for (const agent of this.agents.values()) agent.close();
		this.agents.clear();
		await writeState(this.dir, this.state(true));
	}

	async teardown(): Promise<void> {
		if (this.down) return;
		this.down = true;
		for (const agent of this.agents.values()) agent.close();
		await removeNamespaces(namespacesOf(this.plan, this.id));
		await rm(this.dir, { recursive: true, force: true });
	}
}
