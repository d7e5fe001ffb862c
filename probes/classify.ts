// Socket errors and silence → what the network did. Shared by the tcp, http and ssh probes.
import type { ProbeStatus } from './types.js';

const BY_CODE: Record<string, { status: ProbeStatus; detail: string }> = {
	ECONNREFUSED: {
		status: 'refused',
		detail: 'connection refused (RST): the host answered, nothing listens on that port',
	},
	ECONNRESET: { status: 'refused', detail: 'connection reset by peer' },
	EHOSTUNREACH: { status: 'unreachable', detail: 'host unreachable (ICMP, or no ARP answer)' },
	ENETUNREACH: { status: 'no-route', detail: 'network unreachable: no route to that address' },
	ETIMEDOUT: { status: 'filtered', detail: 'no answer before the timeout: dropped silently' },
};

export function classifyError(error: unknown): { status: ProbeStatus; detail: string } {
	const code = (error as NodeJS.ErrnoException)?.code;
	if (code && BY_CODE[code]) return BY_CODE[code];
	return { status: 'error', detail: (error as Error)?.message ?? String(error) };
}

export const timedOut = (ms: number) => ({
	status: 'filtered' as const,
	detail: `no answer within ${ms} ms: dropped silently (firewall or black hole)`,
});

/**
 * Calls `expire` `ms` from now unless cancelled — after letting pending I/O run: a timer due while
 * the process was busy fires before the event loop reads sockets, and a reply already waiting in
 * one must win over the timeout. Returns the cancel function.
 */
export function deadline(ms: number, expire: () => void): () => void {
	let cancelled = false;
	const timer = setTimeout(
		() =>
			setImmediate(() => {
				if (!cancelled) expire();
			}),
		ms,
	);
	return () => {
		cancelled = true;
		clearTimeout(timer);
	};
}
