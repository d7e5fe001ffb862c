// The real-lab backend: nothing is built. Each node of the inventory is reached over SSH (its host key checked),
// and every probe runs *from* the real machine named as its source. Nothing is left on the machines: no file, no
// process — a connection each, closed at the end.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import type Docker from 'dockerode';
import type { Client, ConnectConfig } from 'ssh2';
import { probeOf } from '../../../probes/index.js';
import type { NodeNetwork, ProbeRequest, ProbeResult } from '../../../probes/types.js';
import type { Backend, Lab, RealMachines } from '../types.js';
import { checkHostKey, defaultKnownHosts } from './hostkeys.js';
import type { Inventory, InventoryNode } from './inventory.js';
import { ContainerNetwork } from './container.js';
import { RemoteNetwork } from './remote.js';

export interface RealOptions {
	inventory: Inventory;
	knownHosts?: string;
	trustNewHosts?: boolean;
	/** Called with each host key recorded (--trust-new-hosts). */
	onNewHost?: (line: string) => void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REAL_TIMEOUT_MS = 2000;

export function realBackend(options: RealOptions): Backend {
	return {
		name: `ssh (real machines of ${options.inventory.file})`,
		async preflight() {},
		async build() {
			return new RealLab(options);
		},
		kept: async () => [],
		down: async () => 'labs on real machines are never built, so never kept: nothing to take down',
		clean: async () => ({ labs: [], namespaces: 0 }),
	};
}

type Network = NodeNetwork & Required<Pick<NodeNetwork, 'command'>> & { close(): void };
type Connection = { network: Network; client?: Client; container?: Docker.Container } | { error: string };
type ContainerRef = NonNullable<InventoryNode['docker']>;

class RealLab implements Lab {
	readonly id = 'real';
	/** Each node's connection: an SSH session to the machine, or a container on its engine. */
	private readonly connections = new Map<string, Promise<Connection>>();
	/** SSH sessions by endpoint: a node, or the machine of a Docker engine (shared by its containers). */
	private readonly sessions = new Map<string, Promise<Connection>>();
	private readonly engines = new Map<string, Promise<Docker | { error: string }>>();
	/** SSH endpoints and probe targets, in the order first contacted (the report lists them). */
	private readonly contacted = new Set<string>();
	private closed = false;

	constructor(private readonly options: RealOptions) {}

	private connection(name: string): Promise<Connection> {
		let found = this.connections.get(name);
		if (!found) {
			const node = this.options.inventory.nodes.get(name);
			found = !node
				? Promise.resolve({ error: `${name} is not in the inventory ${this.options.inventory.file}` })
				: node.docker
					? this.container(node, node.docker)
					: this.session(node);
			this.connections.set(name, found);
		}
		return found;
	}

	private session(node: InventoryNode): Promise<Connection> {
		const endpoint = `${node.user}@${node.host}:${node.port}${node.via ? ` (via ${node.via})` : ''}`;
		let found = this.sessions.get(endpoint);
		if (!found) {
			this.contacted.add(`ssh ${endpoint}`);
			found = this.open(node);
			this.sessions.set(endpoint, found);
		}
		return found;
	}

	/** The Docker engine of a container node: over SSH to its socket (`ssh -L` style), or its TCP endpoint. */
	private engine(node: InventoryNode, docker: ContainerRef): Promise<Docker | { error: string }> {
		let found = this.engines.get(docker.shown);
		if (!found) {
			found = (async () => {
				const { default: Dockerode } = await import('dockerode');
				const ref = docker.engine;
				if ('tcp' in ref) {
					this.contacted.add(`docker tcp://${ref.tcp.host}:${ref.tcp.port}`);
					return new Dockerode({ host: ref.tcp.host, port: ref.tcp.port, protocol: 'http' });
				}
				const machine = 'ssh' in ref ? await this.session(ref.ssh) : await this.connection(ref.node);
				if ('error' in machine) return { error: `${node.name}'s engine: ${machine.error}` };
				const network = machine.network;
				if (!(network instanceof RemoteNetwork)) return { error: `${node.name}'s engine is not on a machine` };
				this.contacted.add(`docker ${docker.shown} (${ref.socket})`);
				const agent = Object.assign(new Agent({ keepAlive: false, maxSockets: 8 }), {
					createConnection: () => network.stream(ref.socket),
				});
				return new Dockerode({ agent } as Docker.DockerOptions);
			})();
			this.engines.set(docker.shown, found);
		}
		return found;
	}

	private async container(node: InventoryNode, docker: ContainerRef): Promise<Connection> {
		const engine = await this.engine(node, docker);
		if ('error' in engine) return engine;
		const where = `container ${docker.container} on ${docker.shown}`;
		const container = engine.getContainer(docker.container);
		try {
			const info = await container.inspect();
			if (!info.State.Running) return { error: `${node.name}: ${where} is not running (${info.State.Status})` };
		} catch (error) {
			const { statusCode, message } = error as { statusCode?: number; message: string };
			return {
				error:
					statusCode === 404
						? `${node.name}: the engine ${docker.shown} has no container "${docker.container}"`
						: `${node.name}: cannot reach the Docker engine ${docker.shown}: ${message.split('\n')[0]}`,
			};
		}
		return { network: new ContainerNetwork(container, node.name), container };
	}

	private async open(node: InventoryNode): Promise<Connection> {
		const name = node.name;
		const config = await this.config(node).catch((error: Error) => error.message);
		if (typeof config === 'string') return { error: `${name}: ${config}` };
		let sock: ConnectConfig['sock'];
		if (node.via) {
			const via = await this.connection(node.via);
			if ('error' in via) return { error: `${name} is reached through ${node.via}, and ${via.error}` };
			sock = via.network.connect(node.host, node.port) as unknown as ConnectConfig['sock'];
		}
		const { Client } = (await import('ssh2')).default;
		return new Promise((resolve) => {
			const client = new Client();
			let verdict: ReturnType<typeof checkHostKey> | undefined;
			const where = `${node.user}@${node.host}:${node.port}${node.via ? ` (through ${node.via})` : ''}`;
			client.on('ready', () => resolve({ client, network: new RemoteNetwork(client, name) }));
			client.on('error', (error: Error & { level?: string }) => {
				client.end();
				const why =
					verdict && !verdict.ok
						? `${verdict.why} — ${verdict.hint}`
						: error.level === 'client-authentication'
							? `${where} refused the login (${node.passwordEnv ? 'password' : 'key'} not accepted)`
							: error.level === 'client-timeout'
								? `${where} did not answer SSH within ${CONNECT_TIMEOUT_MS / 1000} s`
								: `cannot reach ${where}: ${error.message}`;
				resolve({ error: `${name}: ${why}` });
			});
			client.connect({
				...config,
				sock,
				host: node.host,
				port: node.port,
				username: node.user,
				readyTimeout: CONNECT_TIMEOUT_MS,
				hostVerifier: (key: Buffer) => {
					verdict = checkHostKey(
						this.options.knownHosts ?? defaultKnownHosts(),
						node.host,
						node.port,
						key,
						this.options.trustNewHosts ?? false,
					);
					if (verdict.ok && verdict.added) this.options.onNewHost?.(verdict.added);
					return verdict.ok;
				},
			});
		});
	}

	/** How to log in: the inventory's key, a password from the environment, the agent, or ~/.ssh's keys. */
	private async config(node: InventoryNode): Promise<Partial<ConnectConfig>> {
		if (node.passwordEnv) {
			const password = process.env[node.passwordEnv];
			if (password === undefined)
				throw new Error(`the environment variable ${node.passwordEnv} (its password) is not set`);
			return { password, tryKeyboard: false };
		}
		if (node.key) {
			if (!existsSync(node.key)) throw new Error(`no key file ${node.key}`);
			return { privateKey: readFileSync(node.key) };
		}
		if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
		const key = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(homedir(), '.ssh', k)).find(existsSync);
		if (!key) throw new Error('no way to log in: give `key:` or `password_env:`, or start an ssh-agent');
		return { privateKey: readFileSync(key) };
	}

	async probe(from: string, request: ProbeRequest): Promise<ProbeResult> {
		const probe = probeOf(request.probe);
		if (!probe) return { status: 'error', detail: `no probe "${request.probe}"`, ms: 0 };
		const connection = await this.connection(from);
		if (this.closed) return { status: 'error', detail: 'the run was stopped', ms: 0 };
		if (probe.packet)
			this.contacted.add(`${request.probe} ${request.address}${request.port ? `:${request.port}` : ''} from ${from}`);
		if ('error' in connection) return { status: 'error', detail: connection.error, ms: 0, unprobed: true };
		try {
			// An ssh probe logs in to its target as the inventory logs in to that node.
			const sshKeyFile = request.node ? this.options.inventory.nodes.get(request.node)?.key : undefined;
			return await probe.run(request, {
				// The way to a real node and back is longer than inside a lab: a check without a timeout waits longer.
				timeoutMs: REAL_TIMEOUT_MS,
				network: connection.network,
				sshKeyFile,
				exec: (command) => this.exec(from, command),
			});
		} catch (error) {
			return { status: 'error', detail: `${from}: ${(error as Error).message}`, ms: 0 };
		}
	}

	/**
	 * What each machine says of itself: its IPv4 addresses, routes and firewall rules (read-only commands; the rules
	 * need root, or sudo without a password — otherwise the report says they could not be read).
	 */
	async machines(): Promise<RealMachines> {
		const nodes = await Promise.all(
			[...this.options.inventory.nodes.values()].map(async (node) => {
				const reachedAs = node.docker
					? `container ${node.docker.container} on ${node.docker.shown}`
					: `${node.user}@${node.host}:${node.port}`;
				const connection = await this.connection(node.name);
				if ('error' in connection) return { node: node.name, reachedAs, error: connection.error };
				const { output } = await connection.network.command(
					'LC_ALL=C ip -4 -o addr show 2>&1; echo @@; LC_ALL=C ip -4 route show 2>&1; echo @@; ' +
						'if rules=$(iptables-save 2>/dev/null || sudo -n iptables-save 2>/dev/null); then echo readable; ' +
						'printf "%s\\n" "$rules" | grep -E "^(\\*|-A)"; fi',
					10_000,
				);
				const [addr, route = '', rules = ''] = output.split('\n@@\n');
				const addresses = [...addr.matchAll(/inet (\S+)/g)].map((m) => m[1]).filter((a) => !a.startsWith('127.'));
				const [readable, ...firewall] = rules.trim().split('\n');
				const read = readable === 'readable' ? firewall.filter(Boolean) : undefined;
				return {
					node: node.name,
					reachedAs,
					addresses,
					routes: route.trim().split('\n').filter(Boolean),
					firewall: read,
				};
			}),
		);
		return { inventory: this.options.inventory.file, nodes, contacted: [...this.contacted] };
	}

	async act(): Promise<{ ok: boolean; detail: string }> {
		return { ok: false, detail: 'a real lab is checked as it is: labcheck changes nothing on real machines' };
	}

	async exec(node: string, command: string): Promise<{ exitCode: number; output: string }> {
		const connection = await this.connection(node);
		if ('error' in connection) throw new Error(connection.error);
		const { exitCode, output } = await connection.network.command(command, 30_000);
		return { exitCode: exitCode ?? 255, output };
	}

	async detach(): Promise<void> {
		await this.teardown();
	}

	/** Closes every connection: nothing of the run stays on the machines. */
	async teardown(): Promise<void> {
		this.closed = true;
		const all = [...this.connections.values(), ...this.sessions.values()];
		for (const connection of await Promise.all(all)) {
			if ('error' in connection) continue;
			connection.network.close();
			connection.client?.end();
		}
		this.connections.clear();
		this.sessions.clear();
		this.engines.clear();
	}
}
