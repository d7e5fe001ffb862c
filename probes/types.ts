// The probe interface: one file per probe implements `Probe`; it opens its sockets in the source
// node's network through `context.network`, so the node is where its packets come from.
import type { Socket } from 'node:net';
import type { ProbeOptions } from '../src/scenario/schema.js';

/** How a probe ended. Only `ok` means the target answered; the others say what the network did. */
export type ProbeStatus = 'ok' | 'refused' | 'no-route' | 'unreachable' | 'filtered' | 'error';

export interface ProbeRequest {
	probe: string;
	address: string;
	port?: number;
	options: ProbeOptions;
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
	/** Tool-shaped evidence for the report: ping statistics, HTTP status and body, SSH banner and output. */
	evidence?: Record<string, unknown>;
}

export interface Probe {
	run(request: ProbeRequest, context: ProbeContext): Promise<ProbeResult>;
}

export interface ProbeContext {
	/** The source node's network: every socket of the probe is opened through it. */
	network: NodeNetwork;
	/** Files of the run the probe may read: the per-run SSH key. */
	sshKeyFile?: string;
}

/** A node's network stack, as the process running probes sees it. */
export interface NodeNetwork {
	/** Runs `fn` with the node's network current, for a library that opens its socket synchronously (net-ping). */
	within<T>(fn: () => T): T;
	/** A TCP connection from the node, being opened: wait for 'connect' or 'error'. */
	connect(address: string, port: number): Socket;
	/** Keeps a socket open between probes until the node's network is closed. */
	hold(resource: { close(): void }): void;
}

// Inside the lab a reply takes well under a millisecond; a quarter second of silence is a drop
// (with both cores saturated, 72 runs gave no false drop: see README "Performance").
export const DEFAULT_TIMEOUT_MS = 250;
