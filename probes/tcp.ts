// tcp: a TCP connect. Open, refused (RST), unreachable (ICMP) or filtered (silence) — the four things a firewall can
// do.
import { classifyError, deadline, timedOut } from './classify.js';
import { timeout } from './options.js';
import { DEFAULT_TIMEOUT_MS, defineProbe, type ProbeResult } from './types.js';

export const tcp = defineProbe({
	name: 'tcp',
	summary: 'TCP connect: open, refused (RST), unreachable or filtered',
	port: 'required',
	packet: { proto: 'tcp' },
	judged: 'reach',
	// A connect in flight is a timer and a table entry: all of a big matrix at once.
	inFlight: 1024,
	options: { timeout },
	evidence: (check, result) => [`${check.from}$ nc -z ${check.to.address} ${check.to.port}`, result.detail],
	run: ({ address, port, options }, { network, timeoutMs }) =>
		new Promise<ProbeResult>((resolve) => {
			const timeout = options.timeout ?? timeoutMs ?? DEFAULT_TIMEOUT_MS;
			const started = performance.now();
			const socket = network.connect(address, port!, timeout);
			const done = (result: Omit<ProbeResult, 'ms'>) => {
				cancel();
				socket.destroy();
				resolve({ ...result, ms: performance.now() - started });
			};
			const cancel = deadline(timeout, () => done(timedOut(timeout)));
			socket.once('connect', () =>
				done({
					status: 'ok',
					detail: `connected to ${address}:${port}${
						socket.localAddress ? ` from ${socket.localAddress}:${socket.localPort}` : ' (opened by the node, over SSH)'
					}`,
				}),
			);
			socket.once('error', (error) => done(classifyError(error)));
		}),
});
