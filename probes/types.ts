// The probe interface: one file per probe implements `Probe`; it runs inside the source node's namespace.
import type { ProbeOptions } from '../src/scenario/schema.js';

/** How a probe ended. Only `ok` means the target answered; the others say what the network did. */
export type ProbeStatus = 'ok' | 'refused' | 'no-route' | 'unreachable' | 'filtered' | 'error';

export interface ProbeRequest { probe: string; address: string; port?: number; options: ProbeOptions }

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
	/** Files of the run the probe may read: the per-run SSH key. */
	sshKeyFile?: string;
}

// Inside the lab a reply takes well under a millisecond; half a second of silence is a drop.
export const DEFAULT_TIMEOUT_MS = 500;
