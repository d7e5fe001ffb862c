// The probe interface: one file per probe implements `Probe`; it opens its sockets in the source
// node's network through `context.network`, so the node is where its packets come from.
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import type { z } from 'zod';
import type { PlanCheck } from '../src/plan/types.js';

/** How a probe ended. Only `ok` means the target answered; the others say what the network did. */
export type ProbeStatus = 'ok' | 'refused' | 'no-route' | 'unreachable' | 'filtered' | 'error';

/** A check's options, as the scenario gave them; each probe reads its own (`OptionsOf` its schemas). */
export type ProbeOptions = { readonly [option: string]: string | number | undefined };
export type Shapes = Record<string, z.ZodType>;
export type OptionsOf<S extends Shapes> = { [K in keyof S]?: z.output<S[K]> } & { command?: string };

export interface ProbeRequest<O = ProbeOptions> {
	probe: string;
	address: string;
	port?: number;
	/** The lab node that owns `address`, if one does. */
	node?: string;
	/** A URL target (http): HTTPS or not, the host it names (SNI, Host), the path to ask for. */
	url?: { https: boolean; host: string; path: string };
	options: O;
}

export interface ProbeResult {
	status: ProbeStatus;
	/** One line a person reads: "3/3 replies, rtt 0.04/0.05/0.07 ms", "connection refused (RST)". */
	detail: string;
	ms: number;
	/** The output did not contain `match` (or the status differed): the target answered, but wrongly. */
	mismatch?: string;
	/** The source address the target saw, when the target could tell us (labcheck services, sshd). */
	seenFrom?: string;
	/**
	 * The probe could not run at all (its source, a real machine, could not be reached), or its answer may have been
	 * lost to labcheck's own limits (a full socket buffer or neighbour table): no expectation holds on it, not even
	 * "unreachable".
	 */
	unprobed?: boolean;
	/** Tool-shaped evidence for the report: ping statistics, HTTP status and body, SSH banner and output. */
	evidence?: Record<string, unknown>;
}

/**
 * A probe describes itself: everything the plan, the model, the engine, the schema and the reports need to know about
 * it comes from here. A new probe is a module exporting one of these plus a line in probes/index.ts.
 */
export interface Probe<S extends Shapes = Shapes> {
	name: string;
	/** One line for `labcheck --help` and the schema. */
	summary: string;
	/** Whether a check names a port ("tcp vm -> host:22"), may (defaultPort), or must not. */
	port: 'none' | 'required' | 'optional';
	defaultPort?: number;
	/**
	 * The packet the model follows for it; `app`: the check needs the application's answer (http, ssh), not only an
	 * accepted connection. Undefined: no packet (exec), so no prediction.
	 */
	packet?: { proto: 'icmp' | 'tcp' | 'udp'; app?: boolean };
	/** What a check of this probe expects: reachable/unreachable, or succeeds/fails (exec). */
	judged: 'reach' | 'run';
	/** Probes of this kind in flight at once. */
	inFlight: number;
	/** Its options (a zod schema each): the scenario schema accepts these for its lines, and no others. */
	options: S;
	/** The evidence in the shape of the tool a student would have used (ping, curl, ssh, dig). */
	evidence(check: PlanCheck & { options: OptionsOf<S> }, result: ProbeResult): string[];
	run(request: ProbeRequest<OptionsOf<S>>, context: ProbeContext): Promise<ProbeResult>;
}

/** A probe module's export: its options' types follow from its schemas. */
export const defineProbe = <S extends Shapes>(probe: Probe<S>): Probe => probe as unknown as Probe;

export interface ProbeContext {
	/** The source node's network: every socket of the probe is opened through it. */
	network: NodeNetwork;
	/** Files of the run the probe may read: the per-run SSH key. */
	sshKeyFile?: string;
	/** A check's timeout when it gives none, for probes whose own default is DEFAULT_TIMEOUT_MS (real machines). */
	timeoutMs?: number;
	/** Runs a shell command on the node (the exec probe). */
	exec?(command: string): Promise<{ exitCode: number; output: string }>;
}

/** A node's network stack, as the process running probes sees it. */
export interface NodeNetwork {
	/** Runs `fn` with the node's network current, for a library that opens its socket synchronously (net-ping). */
	within<T>(fn: () => T): T;
	/** A TCP connection from the node, being opened: wait for 'connect' or 'error' (`timeoutMs`: the probe's bound). */
	connect(address: string, port: number, timeoutMs?: number): Socket;
	/** A UDP socket of the node, bound to an ephemeral port. */
	udp(): UdpSocket;
	/** Keeps a socket open between probes until the node's network is closed. */
	hold(resource: { close(): void }): void;
	/**
	 * Runs a command on the node and gives its output: a real machine (reached over SSH) has no network this process
	 * can enter, so a probe that needs raw sockets (ping) runs the node's own tool instead.
	 */
	command?(line: string, timeoutMs: number): Promise<{ exitCode: number | null; output: string }>;
}

// Inside the lab a reply takes well under a millisecond; a quarter second of silence is a drop
// (with both cores saturated, 72 runs gave no false drop: see README "Performance").
export const DEFAULT_TIMEOUT_MS = 250;
