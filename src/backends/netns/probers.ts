// Probe processes for big labs. The kernel does a packet's whole journey — through the sender's veth, the bridge,
// the receiver's stack, its reply and back — inside the sender's system call, on the sender's core; with every probe
// in labcheck's own process, one core did all of it while the other idled (300 hosts all pairs: 89,700 pings, ~8 s
// of one core). So a lab with many probes hands them to one process per core, each source node to one of them (its
// sockets live there); labcheck's own process plans, judges and reports meanwhile. Small labs keep their probes in
// process: a process costs more to start than they take.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ProbeRequest, ProbeResult } from '../../../probes/types.js';

export interface ProberRequest {
	probes: Array<{ id: number; path: string; request: ProbeRequest; sshKeyFile?: string }>;
}
export type ProberResults = Array<[number, ProbeResult]>;
export type ProberReply = { ready: true; results?: undefined } | { ready?: undefined; results: ProberResults };

/** Probes of a step from which a lab gets probe processes. */
const PROBES_PER_PROCESS = 2_000;
const MAX_PROCESSES = 4;

/**
 * How many probe processes a lab with `probes` network probes from its namespaces gets: none for a small one, else one
 * per core. LABCHECK_PROBERS sets it (0: every probe in labcheck's own process).
 */
export function probersFor(probes: number): number {
	const forced = process.env.LABCHECK_PROBERS;
	if (forced !== undefined && forced !== '') return Math.max(0, Math.min(MAX_PROCESSES, Number(forced) || 0));
	const cores = Math.min(MAX_PROCESSES, availableParallelism());
	return cores > 1 && probes >= PROBES_PER_PROCESS ? cores : 0;
}

interface Child {
	process: ChildProcess;
	queue: ProberRequest['probes'];
	exited?: string;
}

export class Probers {
	private readonly children: Child[];
	private readonly pending = new Map<number, { child: Child; resolve: (r: ProbeResult) => void }>();
	/** Each source node's process, so that its sockets are opened once, in one of them. */
	private readonly assigned = new Map<string, Child>();
	private next = 0;
	private closing = false;

	private constructor(count: number) {
		const entry = fileURLToPath(new URL('./prober.js', import.meta.url));
		this.children = Array.from({ length: count }, () => {
			const child: Child = {
				process: fork(entry, [], {
					serialization: 'advanced',
					execArgv: [],
					stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
				}),
				queue: [],
			};
			child.process.on('message', (reply: ProberReply) => {
				for (const [id, result] of reply.results ?? []) {
					this.pending.get(id)?.resolve(result);
					this.pending.delete(id);
				}
			});
			child.process.on('exit', (code, signal) => {
				child.exited = signal ? `killed by ${signal}` : `exit ${code}`;
				for (const [id, p] of this.pending)
					if (p.child === child) {
						this.pending.delete(id);
						p.resolve({
							status: 'error',
							detail: `labcheck's probe process ended (${child.exited}) before this probe did`,
							ms: 0,
							unprobed: true,
						});
					}
			});
			child.process.on('error', () => {}); // its exit says it
			return child;
		});
	}

	/** Started and ready to probe (each has loaded the probes). */
	static async start(count: number): Promise<Probers> {
		const probers = new Probers(count);
		try {
			await Promise.all(
				probers.children.map(async (c) => {
					const [reply] = (await Promise.race([once(c.process, 'message'), once(c.process, 'exit')])) as [unknown];
					if (!(reply as ProberReply | undefined)?.ready)
						throw new Error(`a probe process did not start (${c.exited})`);
				}),
			);
		} catch (error) {
			await probers.close();
			throw error;
		}
		return probers;
	}

	private id = 0;

	/** Runs `request` from `node`, whose network is the namespace at `path`, in the node's probe process. */
	run(node: string, path: string, request: ProbeRequest, sshKeyFile?: string): Promise<ProbeResult> {
		let child = this.assigned.get(node);
		if (!child) {
			child = this.children[this.next++ % this.children.length];
			this.assigned.set(node, child);
		}
		if (child.exited || this.closing)
			return Promise.resolve({
				status: 'error',
				detail: `labcheck's probe process has ended (${child.exited ?? 'the lab is going away'})`,
				ms: 0,
				unprobed: true,
			});
		const id = this.id++;
		const target = child;
		if (target.queue.length === 0) setImmediate(() => this.flush(target));
		target.queue.push({ id, path, request, sshKeyFile });
		return new Promise((resolve) => this.pending.set(id, { child: target, resolve }));
	}

	private flush(child: Child): void {
		const probes = child.queue;
		child.queue = [];
		if (probes.length > 0 && child.process.connected) child.process.send({ probes } satisfies ProberRequest);
	}

	/** Ends every probe process (they close their sockets as they go), within a second, else kills it. */
	async close(): Promise<void> {
		this.closing = true;
		await Promise.all(
			this.children.map(async (c) => {
				if (c.exited) return;
				const exited = once(c.process, 'exit');
				if (c.process.connected) c.process.disconnect();
				const timer = setTimeout(() => c.process.kill('SIGKILL'), 1000);
				await exited;
				clearTimeout(timer);
			}),
		);
	}
}
