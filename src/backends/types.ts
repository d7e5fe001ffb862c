// The backend interface: build a plan into a running lab whose nodes can run probes.
import type { NodeNetwork, ProbeRequest, ProbeResult } from '../../probes/types.js';
import type { Plan, PlanAction } from '../plan/types.js';

export interface BuildOptions {
	/** Keep the lab after labcheck exits (`labcheck up`); services then run detached. */
	keep?: boolean;
	/** Called with one line per build step, for progress output. */
	log?: (line: string) => void;
	/** Called with the lab before anything is built, so that a signal mid-build can tear down what exists. */
	onLab?: (lab: Lab) => void;
}

export interface Lab {
	readonly id: string;
	/** The per-run private key the lab's sshd accept, for people exploring a kept lab. */
	readonly sshKeyFile?: string;
	/** Runs a probe from inside `from`. A probe failure is a result, never an exception. */
	probe(from: string, request: ProbeRequest): Promise<ProbeResult>;
	/** Carries out one change of a step (stop, commit, allow, float, …) so the lab matches `next`, the plan
	 * after the change. A refusal is a result, never an exception. */
	act(action: PlanAction, next: Plan): Promise<ActionResult>;
	/** Runs a shell command inside a node: its exit code and output. */
	exec(node: string, command: string): Promise<{ exitCode: number; output: string }>;
	/**
	 * The route the kernel of each `node` picks for its `address` (`ip route get`), as evidence for unreachable results;
	 * in the order asked.
	 */
	routes?(queries: Array<{ node: string; address: string }>): Promise<Array<string | undefined>>;
	/** Lets go of what labcheck holds only while it runs (its sockets in the nodes) and leaves the lab up. */
	detach(): Promise<void>;
	/**
	 * Real machines only: what each machine says of itself (addresses, routes), and every address the run contacted —
	 * for the report, beside what the scenario says.
	 */
	machines?(): Promise<RealMachines>;
	/** Removes everything the build made. Safe to call twice and after a partial build. */
	teardown(): Promise<void>;
}

export interface Backend {
	readonly name: string;
	/** Throws an EnvironmentError naming the fix when the machine cannot build `plan`. */
	preflight(plan: Plan): Promise<void>;
	build(plan: Plan, options: BuildOptions): Promise<Lab>;
	/** Labs kept by `labcheck up` on this machine. */
	kept(): Promise<KeptLab[]>;
	/** Removes a kept lab, or every one; says what it removed. A running or unknown id is a UsageError. */
	down(id?: string): Promise<string>;
	/** Removes what runs left behind: `dead`, labs of runs that died; `all`, every lab but runs still going. */
	clean(scope: 'dead' | 'all'): Promise<Cleaned>;
}

/** A lab that outlives the command that built it (`labcheck up`), as its backend finds it again. */
export interface KeptLab {
	readonly id: string;
	/** The scenario file it was built from (absolute when known). */
	readonly scenario: string;
	readonly nodes: string[];
	/** The per-run key its sshd accept. */
	readonly sshKeyFile?: string;
	/** The command line that runs `command` inside `node`, attached to this terminal (`tty`: interactive). */
	commandLine(node: string, command: string[], tty: boolean): Promise<string[]>;
	/** The node's network, to probe from it; undefined when the node is not running. Close it after use. */
	network(node: string): Promise<(NodeNetwork & { close(): void }) | undefined>;
	/** Packets counted by each rule of each node: node → rule (its id and sentence when labcheck installed it) → n. */
	counters(): Promise<Map<string, Map<string, number>>>;
	/** The route the node's kernel picks for `address` (`ip route get`). */
	route(node: string, address: string): Promise<string>;
}

export interface RealMachines {
	inventory: string;
	nodes: Array<{
		node: string;
		reachedAs: string;
		addresses?: string[];
		routes?: string[];
		/** `iptables-save`'s tables and rules; undefined when they could not be read (no root, no iptables). */
		firewall?: string[];
		error?: string;
	}>;
	/** SSH endpoints and probe targets, in the order first contacted. */
	contacted: string[];
}

export interface Cleaned {
	labs: string[];
	namespaces: number;
}

export interface ActionResult {
	ok: boolean;
	detail: string;
}
