// The embedded backend: every node a network namespace, every network a bridge in its own namespace;
// containers run in a dedicated Docker engine inside the namespace of the node that hosts them.
import { writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { installed } from '../../which.js';
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { contains, parseCidr } from '../../net/ipv4.js';
import { NetNamespace } from '../../net/namespace.js';
import { BackendError, EnvironmentError } from '../../errors.js';
import type { Plan, PlanAction, PlanNode } from '../../plan/types.js';
import { probeOf } from '../../../probes/index.js';
import type { ProbeRequest, ProbeResult } from '../../../probes/types.js';
import { createRunKey, SSHD, type RunKey } from '../../../services/sshd.js';
import type { ActionResult, Backend, BuildOptions, Lab } from '../types.js';
import { execIn } from '../docker-exec.js';
import { containerName, containerPid, createContainer, createNetworks } from './docker/containers.js';
import { engineInfo, startEngine, stopEngine, type EngineInfo } from './docker/engine.js';
import { buildImage, ensureImage } from './docker/images.js';
import { newRunId, nodeNamespace, stateDir } from './names.js';
import { Probers, probersFor } from './probers.js';
import { enterNamespace, enterNetworkOf, killPid, killRunProcesses, killTrees, removeNamespaces } from './processes.js';
import { startNodeServices } from './services.js';
import { processStart, writeState, type LabState } from './state.js';
import { createLab, floatingAddress, namespacesOf } from './topology.js';
import { fullRules, managed, sysctls } from './firewall.js';
import { removeNodeCgroups } from './cgroups.js';
import { enterNode, hostsFile, type NodeFiles } from './sandbox.js';
import { clean, down, keptLabs } from './kept.js';
import { ipBatch, nsExec } from './shell.js';

export const netnsBackend: Backend = {
	name: 'netns',
	kept: keptLabs,
	down,
	clean,
	async preflight(plan) {
		if (process.getuid?.() !== 0) {
			throw new EnvironmentError(
				'labcheck builds labs in network namespaces and needs root (CAP_NET_ADMIN)',
				'run it as root, e.g. `sudo npx labcheck run ...`',
			);
		}
		const needs = [
			['ip', 'iproute2'],
			['iptables-restore', 'iptables'],
		];
		if (plan.nodes.some((n) => n.services.some((s) => s.name === 'sshd')))
			needs.push([SSHD, 'openssh-server'], ['ssh-keygen', 'openssh-client']);
		if (plan.nodes.some((n) => n.engine)) needs.push(['dockerd', 'docker.io'], ['/bin/busybox', 'busybox-static']);
		if (plan.steps.some((s) => s.actions.some((a) => a.verb === 'float' || a.verb === 'unfloat')))
			needs.push(['conntrack', 'conntrack']);
		const absent = [];
		for (const [command, pkg] of needs) if (!(await installed(command))) absent.push(pkg);
		if (absent.length > 0) {
			throw new EnvironmentError(
				`this machine lacks ${absent.join(', ')}`,
				`run \`npx labcheck doctor --fix\` (or apt-get install ${absent.join(' ')})`,
			);
		}
	},
	async build(plan, options) {
		const lab = new NetnsLab(plan, newRunId(), options);
		options.onLab?.(lab);
		try {
			await lab.start();
		} catch (error) {
			await lab.teardown();
			throw error;
		}
		return lab;
	},
};

interface Engine {
	info: EngineInfo;
	docker: Docker;
}

class NetnsLab implements Lab {
	/** Each running node's network, where probes open their sockets. */
	private readonly networks = new Map<string, NetNamespace>();
	private readonly engines = new Map<string, Engine>();
	/** Processes started inside containers' networks (their namespaces are not named), by node. */
	private readonly containerPids = new Map<string, number[]>();
	/** Service processes of namespace nodes, by node then service, so a step can stop one. */
	private readonly servicePids = new Map<string, Map<string, number>>();
	private readonly dir: string;
	private key?: RunKey;
	private down = false;
	private starting?: Promise<void>;
	private kept = false;
	private readonly neighbourDrops = new NeighbourDrops();
	/** Processes that run the probes of a big lab (probers.ts); none for a small one. */
	private probers?: Probers;
	private probersStarting?: Promise<Probers>;

	constructor(
		private plan: Plan,
		readonly id: string,
		private readonly options: BuildOptions,
	) {
		this.dir = stateDir(id);
	}

	get sshKeyFile(): string | undefined {
		return this.key?.privateFile;
	}

	/** Where a node's own file system lives, for the commands a scenario runs in it. */
	private files(name: string): NodeFiles {
		return {
			id: this.id,
			dir: this.dir,
			namespace: nodeNamespace(this.id, name),
			node: name,
			hosts: hostsFile(this.plan.nodes.filter((n) => !n.auto)),
		};
	}

	private node(name: string): PlanNode {
		return this.plan.nodes.find((n) => n.name === name)!;
	}

	private async saveState(): Promise<void> {
		const state: LabState = {
			id: this.id,
			pid: process.pid,
			pidStart: processStart(),
			scenario: this.plan.file,
			scenarioPath: resolve(this.plan.file),
			name: this.plan.name,
			created: new Date().toISOString(),
			kept: this.kept,
			namespaces: namespacesOf(this.plan, this.id),
			nodes: Object.fromEntries(
				this.plan.nodes.filter((n) => !n.container).map((n) => [n.name, nodeNamespace(this.id, n.name)]),
			),
			hosts: hostsFile(this.plan.nodes.filter((n) => !n.auto)),
			engines: this.plan.nodes
				.filter((n) => n.engine)
				.map((n) => engineInfo(this.id, this.dir, n.name, nodeNamespace(this.id, n.name))),
			containers: Object.fromEntries(
				this.plan.nodes
					.filter((n) => n.container)
					.map((n) => [
						n.name,
						{
							socket: engineInfo(this.id, this.dir, n.container!.engine, '').socket,
							name: containerName(this.id, n.name),
						},
					]),
			),
		};
		await writeState(this.dir, state);
	}

	/** Builds the lab; a teardown meanwhile (a signal) makes it stop at the next step and waits for that. */
	start(): Promise<void> {
		this.starting = this.build();
		return this.starting;
	}

	/** Throws once a teardown began: what the build would add next would outlive it. */
	private checkpoint(): void {
		if (this.down) throw new BackendError(`lab ${this.id}: interrupted while being built`);
	}

	private async build(): Promise<void> {
		const started = performance.now();
		const log = (line: string) => this.options.log?.(`${line} (${Math.round(performance.now() - started)} ms)`);
		await mkdir(this.dir, { recursive: true, mode: 0o700 });
		await this.saveState();
		const namespaced = this.plan.nodes.filter((n) => !n.container);
		const needsKey =
			this.plan.nodes.some((n) => n.services.some((s) => s.name === 'sshd')) ||
			this.plan.checks.some((c) => c.probe === 'ssh');
		// The per-run key is made while the topology is built: they do not depend on each other.
		const key = needsKey ? createRunKey(this.dir) : undefined;
		key?.catch(() => {}); // awaited below; a failing build must not leave it unhandled
		// Probe processes start while the topology is built (see probers.ts).
		const namespacedNames = new Set(namespaced.map((n) => n.name));
		const networkProbes = this.plan.checks.filter((c) => namespacedNames.has(c.from) && probeOf(c.probe)?.packet);
		const count = probersFor(networkProbes.length);
		this.probersStarting = count > 0 ? Probers.start(count) : undefined;
		this.probersStarting?.catch(() => {}); // awaited below
		const fixed = await createLab(this.plan, this.id, () => this.down);
		for (const network of fixed)
			this.options.log?.(`${network}: neighbours written in advance (too many for the kernel's shared ARP table)`);
		this.checkpoint();
		for (const node of namespaced) {
			const network = NetNamespace.open(`/run/netns/${nodeNamespace(this.id, node.name)}`);
			this.networks.set(node.name, network);
			const settings = Object.entries(sysctls(node));
			if (settings.length > 0) {
				network.within(() => {
					// An interface Docker makes later (docker0) takes `default`; one not made yet is skipped.
					for (const [key, value] of settings) {
						try {
							writeFileSync(`/proc/sys/${key}`, value);
						} catch (error) {
							if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
						}
					}
				});
			}
		}
		log(`lab ${this.id}: ${this.plan.nodes.length} nodes and ${this.plan.networks.length} networks built`);
		this.key = await key;
		this.probers = await this.probersStarting;
		if (this.probers) log(`lab ${this.id}: probes run from ${count} processes`);
		await Promise.all(namespaced.filter((n) => n.services.length > 0).map((node) => this.startServices(node)));
		this.checkpoint();
		await Promise.all(this.plan.nodes.filter((n) => n.engine).map((n) => this.startEngine(n)));
		for (const node of this.plan.nodes.filter((n) => n.container?.start)) {
			this.checkpoint();
			await this.startContainer(node.name, true);
		}
		log(`lab ${this.id}: up`);
	}

	private async startServices(node: PlanNode): Promise<void> {
		const pids = await startNodeServices(
			node,
			enterNamespace(nodeNamespace(this.id, node.name)),
			this.run,
			this.networks.get(node.name)!,
		);
		this.servicePids.set(node.name, new Map([...(this.servicePids.get(node.name) ?? []), ...pids]));
	}

	private get run() {
		// The names the lab's DNS services answer: every node by its first address.
		const names = this.plan.nodes.filter((n) => n.interfaces[0]).map((n) => `${n.name}=${n.interfaces[0].address}`);
		return { id: this.id, dir: this.dir, key: this.key as RunKey, stopping: () => this.down, names: names.join(',') };
	}

	private async startEngine(node: PlanNode): Promise<void> {
		const info = engineInfo(this.id, this.dir, node.name, nodeNamespace(this.id, node.name));
		this.options.log?.(`${node.name}: starting dockerd`);
		const docker = await startEngine(info);
		this.engines.set(node.name, { info, docker });
		this.checkpoint();
		await createNetworks(this.plan, node.name, docker, this.id);
		const images = new Set(
			this.plan.nodes
				.filter((n) => n.container?.engine === node.name && n.container.start)
				.map((n) => n.container!.image),
		);
		for (const image of images) {
			this.checkpoint();
			await ensureImage(docker, info.socket, image, this.plan.images, this.dir);
		}
	}

	private container(name: string): Docker.Container {
		const node = this.node(name);
		return this.engines.get(node.container!.engine)!.docker.getContainer(containerName(this.id, name));
	}

	/** Starts a container (creating it the first time), opens its network for probes, starts its services. */
	private async startContainer(name: string, create: boolean): Promise<void> {
		const node = this.node(name);
		const { docker, info } = this.engines.get(node.container!.engine)!;
		if (create) {
			await ensureImage(docker, info.socket, node.container!.image, this.plan.images, this.dir);
			await createContainer(docker, node, this.id);
		}
		await this.container(name).start();
		const pid = await containerPid(this.container(name));
		const network = NetNamespace.open(`/proc/${pid}/ns/net`);
		this.networks.set(name, network);
		this.containerPids.set(name, [...(await startNodeServices(node, enterNetworkOf(pid), this.run, network)).values()]);
	}

	/**
	 * Ends what labcheck runs or holds in a container's network (services and their sessions), so the container's
	 * namespace can go.
	 */
	private async releaseContainer(name: string): Promise<void> {
		this.networks.get(name)?.close();
		this.networks.delete(name);
		const pids = this.containerPids.get(name) ?? [];
		this.containerPids.delete(name);
		await killTrees(pids);
	}

	async act(action: PlanAction, next: Plan): Promise<ActionResult> {
		try {
			const result = await this.change(action, next);
			this.plan = next;
			return result;
		} catch (error) {
			const message = ((error as { json?: { message?: string } }).json?.message ?? (error as Error).message).trim();
			return { ok: false, detail: message.split('\n')[0] };
		}
	}

	private async change(action: PlanAction, next: Plan): Promise<ActionResult> {
		const node = this.node(action.target);
		const after = next.nodes.find((n) => n.name === action.target)!;
		const ns = nodeNamespace(this.id, action.target);
		switch (action.verb) {
			case 'exec': {
				const { exitCode, output } = await this.exec(action.target, action.arg!);
				if (exitCode !== 0) throw new Error(`exit ${exitCode}: ${output.trim().split('\n').slice(-1)[0] ?? ''}`);
				return {
					ok: true,
					detail: `exit 0${output.trim() ? `: ${output.trim().split('\n').slice(-2).join(' / ')}` : ''}`,
				};
			}
			case 'build': {
				const engine = [...this.engines.values()][0];
				await buildImage(engine.docker, this.plan.images.find((i) => i.name === action.target)!, this.dir);
				return { ok: true, detail: `built image ${action.target} from its recipe` };
			}
			case 'commit': {
				const [repo, tag = 'latest'] = action.arg!.split(':');
				const image = await this.container(action.target).commit({ repo, tag });
				return { ok: true, detail: `${action.target} saved as image ${action.arg} (${String(image.Id).slice(7, 19)})` };
			}
			case 'stop':
				await this.releaseContainer(action.target);
				await this.container(action.target).stop({ t: 2 });
				return { ok: true, detail: `${action.target} stopped` };
			case 'start': {
				const exists = await this.container(action.target)
					.inspect()
					.then(
						() => true,
						() => false,
					);
				await this.startContainer(node.name, !exists);
				return { ok: true, detail: `${action.target} running from image ${node.container!.image}` };
			}
			case 'remove':
				await this.container(action.target).remove();
				return { ok: true, detail: `${action.target} removed` };
			case 'allow':
			case 'revoke':
				await this.applyRules(after);
				return {
					ok: true,
					detail: `${action.target}'s security group: ${
						after.security!.map((r) => r.text).join('; ') || 'no rule (default deny ingress)'
					}`,
				};
			case 'float':
			case 'unfloat': {
				const before = this.plan.nodes.filter((n) => n.floating.some((f) => f.node === action.target));
				const routers = next.nodes.filter(
					(n) => n.floating.some((f) => f.node === action.target) || before.some((b) => b.name === n.name),
				);
				for (const router of routers) {
					const old = this.node(router.name).floating.filter((f) => f.node === action.target);
					const lines = [
						...old.map((f) => floatingAddress(this.plan, router, f.address, 'del')),
						...router.floating
							.filter((f) => f.node === action.target)
							.map((f) => floatingAddress(next, router, f.address, 'add')),
					];
					await ipBatch(nodeNamespace(this.id, router.name), lines, `router "${router.name}": floating IP`);
					await this.applyRules(router);
				}
				// As neutron does: connections through the old mapping are forgotten, so the next packet takes the new one.
				const forget = [
					...new Set(
						[...this.plan.nodes, ...next.nodes]
							.flatMap((n) => n.floating)
							.filter((f) => f.node === action.target)
							.flatMap((f) => [`-s ${f.privateAddress}`, `-d ${f.address}`, `-q ${f.address}`]),
					),
				];
				await Promise.all(
					routers.map((router) =>
						execa(
							'ip',
							[
								'netns',
								'exec',
								nodeNamespace(this.id, router.name),
								'sh',
								'-c',
								forget.map((match) => `conntrack -D ${match} >/dev/null 2>&1`).join('; ') || 'true',
							],
							{ reject: false },
						),
					),
				);
				// Neighbours may remember the address as unreachable from an earlier probe: forget it.
				const moved = [...this.plan.nodes, ...next.nodes]
					.flatMap((n) => n.floating)
					.filter((f) => f.node === action.target)
					.map((f) => f.address);
				await Promise.all(
					next.nodes
						.filter((n) => (managed(n) && !n.auto) || n.kind === 'router')
						.map((n) =>
							ipBatch(
								nodeNamespace(this.id, n.name),
								[...new Set(moved)].map((a) => `neigh flush to ${a}`),
								`node "${n.name}": neighbours`,
							),
						),
				);
				const fip = routers.flatMap((r) => r.floating).find((f) => f.node === action.target);
				return {
					ok: true,
					detail: fip
						? `${fip.address} → ${action.target} ${fip.privateAddress} on ${routers[0].name}`
						: `${action.target} has no floating IP`,
				};
			}
			case 'route-add':
				await ipBatch(
					ns,
					[`route replace ${action.route!.to} via ${action.route!.via}`],
					`node "${action.target}": add route`,
				);
				return { ok: true, detail: `${action.target}: ${action.route!.to} via ${action.route!.via}` };
			case 'route-del':
				await ipBatch(ns, [`route del ${action.route!.to}`], `node "${action.target}": delete route`);
				return { ok: true, detail: `${action.target}: no route ${action.route!.to} any more` };
			case 'link-down':
			case 'link-up': {
				const iface = node.interfaces.find((i) => i.network === action.arg)!;
				// The kernel drops the routes through a link that goes down; a link brought back gets them again, as a node's
				// network config would.
				const subnet = parseCidr(this.plan.networks.find((n) => n.name === action.arg)!.subnet);
				const restore =
					action.verb === 'link-up'
						? after.routes.filter((r) => contains(subnet, r.via)).map((r) => `route replace ${r.to} via ${r.via}`)
						: [];
				await ipBatch(
					ns,
					[`link set ${iface.ifname} ${action.verb === 'link-down' ? 'down' : 'up'}`, ...restore],
					`node "${action.target}": link`,
				);
				return {
					ok: true,
					detail: `${action.target} ${iface.ifname} (${action.arg}) ${action.verb === 'link-down' ? 'down' : 'up'}`,
				};
			}
			case 'service-stop':
			case 'service-start': {
				// The calculator services of a node share one process: restart it with those still wanted.
				const http = action.arg !== 'sshd';
				const running = this.servicePids.get(action.target) ?? new Map<string, number>();
				const affected = after.services.filter((s) => (s.name === 'sshd') !== http);
				for (const s of affected) {
					const pid = running.get(s.name);
					if (pid) killPid(pid);
					running.delete(s.name);
				}
				if (affected.some((s) => !s.stopped)) await this.startServices({ ...after, services: affected });
				return {
					ok: true,
					detail: `${action.arg} ${action.verb === 'service-stop' ? 'stopped' : 'listening'} on ${action.target}`,
				};
			}
		}
	}

	private async applyRules(node: PlanNode): Promise<void> {
		if (!managed(node)) throw new Error(`${node.name}'s firewall belongs to its Docker engine`);
		await nsExec(
			nodeNamespace(this.id, node.name),
			['iptables-restore'],
			`node "${node.name}": rules`,
			fullRules(node),
		);
	}

	async exec(name: string, command: string): Promise<{ exitCode: number; output: string }> {
		const node = this.node(name);
		if (node.container) return execIn(this.container(name), command);
		const enter = await enterNode(this.files(name));
		const result = await execa(enter[0], [...enter.slice(1), 'sh', '-c', command], {
			reject: false,
			all: true,
			timeout: 30_000,
		});
		return { exitCode: result.exitCode ?? 1, output: result.all ?? '' };
	}

	async routes(queries: Array<{ node: string; address: string }>): Promise<Array<string | undefined>> {
		const nodes = [...new Set(queries.map((q) => q.node))].filter((n) => !this.node(n).container);
		const script = nodes
			.map(
				(n) =>
					`ip -n '${nodeNamespace(this.id, n)}' -force -batch - 2>&1 <<'LABCHECK'\n${queries
						.filter((q) => q.node === n)
						.map((q) => `route get ${q.address}`)
						.join('\n')}\nLABCHECK\necho @@`,
			)
			.join('\n');
		const { stdout } = await execa('sh', ['-s'], { input: script, reject: false });
		// A section a node, one answer a query: a route, or the error ip printed ("Command failed" and indented "cache"
		// lines
		// skipped).
		const answers = new Map(
			stdout
				.split(/^@@$/m)
				.map((section, i) => [nodes[i], section.split('\n').filter((l) => l && !/^\s|^Command failed/.test(l))]),
		);
		const next = new Map(nodes.map((n) => [n, 0]));
		return queries.map((q) => {
			const i = next.get(q.node);
			if (i === undefined) return undefined;
			next.set(q.node, i + 1);
			return answers.get(q.node)?.[i]?.trim();
		});
	}

	async probe(from: string, request: ProbeRequest): Promise<ProbeResult> {
		const network = this.networks.get(from);
		const probe = probeOf(request.probe);
		if (!network) return { status: 'error', detail: `${from} is not running`, ms: 0 };
		if (!probe) return { status: 'error', detail: `no probe "${request.probe}"`, ms: 0 };
		const before = this.neighbourDrops.seen;
		try {
			const exec = (command: string) => this.exec(from, command);
			const result =
				this.probers && probe.packet && network.path.startsWith('/run/netns/')
					? await this.probers.run(from, network.path, request, this.key?.privateFile)
					: await probe.run(request, { network, sshKeyFile: this.key?.privateFile, exec });
			// Silence while this machine dropped packets for its own limits is labcheck's failure, not the network's.
			const dropped =
				result.status === 'filtered' || result.status === 'unreachable' ? this.neighbourDrops.since(before) : 0;
			if (dropped === 0) return result;
			return {
				...result,
				status: 'error',
				unprobed: true,
				detail:
					`${result.detail} — but this machine dropped ${dropped} packet(s) for want of a neighbour entry while it ` +
					"ran (the kernel's ARP table was full or its queue overflowed): labcheck's limit, not the network's",
			};
		} catch (error) {
			return { status: 'error', detail: `probe crashed: ${(error as Error).message}`, ms: 0 };
		}
	}

	private closeNetworks(): void {
		for (const network of this.networks.values()) network.close();
		this.networks.clear();
	}

	async detach(): Promise<void> {
		this.neighbourDrops.stop();
		await this.probers?.close();
		this.closeNetworks();
		this.kept = true;
		await this.saveState();
	}

	async teardown(): Promise<void> {
		this.neighbourDrops.stop();
		if (this.down) return;
		this.down = true;
		await this.starting?.catch(() => {}); // a build in progress stops at its next step first
		await (await this.probersStarting?.catch(() => undefined))?.close();
		await Promise.all([...this.containerPids.keys()].map((name) => this.releaseContainer(name)));
		this.closeNetworks();
		// Every phase runs even when one fails: what one leaves, the next may still remove.
		const engines = this.plan.nodes
			.filter((n) => n.engine)
			.map((n) => engineInfo(this.id, this.dir, n.name, nodeNamespace(this.id, n.name)));
		const failures = [
			// Processes in containers' networks are found by their command line; only labs with containers have them.
			...(await Promise.allSettled(engines.length > 0 ? [killRunProcesses(this.id)] : [])),
			...(await Promise.allSettled(engines.map(stopEngine))),
			...(await Promise.allSettled([removeNamespaces(namespacesOf(this.plan, this.id))])),
			...(await Promise.allSettled([removeNodeCgroups(this.id)])),
		].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
		if (failures.length > 0) {
			throw new BackendError(
				`lab ${this.id}: teardown left something behind (${(failures[0].reason as Error).message}); ` +
					'run `npx labcheck clean`',
			);
		}
		await rm(this.dir, { recursive: true, force: true });
	}
}

/**
 * Packets the machine's kernel dropped for want of a neighbour entry — its ARP table (shared by every namespace)
 * full, or a queue of packets waiting for a resolution overflowing — counted machine-wide
 * (/proc/net/stat/arp_cache). Read every 100 ms for the start of a probe, and again when a probe met silence.
 */
class NeighbourDrops {
	seen = NeighbourDrops.read();
	private readonly timer = setInterval(() => {
		this.seen = NeighbourDrops.read();
	}, 100).unref();

	static read(): number {
		try {
			const [header, ...cpus] = readFileSync('/proc/net/stat/arp_cache', 'utf8').trim().split('\n');
			const names = header.trim().split(/\s+/);
			const at = ['table_fulls', 'unresolved_discards'].map((n) => names.indexOf(n)).filter((i) => i >= 0);
			let sum = 0;
			for (const line of cpus) {
				const values = line.trim().split(/\s+/);
				for (const i of at) sum += Number.parseInt(values[i], 16) || 0;
			}
			return sum;
		} catch {
			return 0;
		}
	}

	since(before: number): number {
		this.seen = NeighbourDrops.read();
		return this.seen - before;
	}

	stop(): void {
		clearInterval(this.timer);
	}
}
