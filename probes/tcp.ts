// tcp: a TCP connect. Open, refused (RST), unreachable (ICMP) or filtered (silence) — the four things a firewall can
// do.
import { classifyError, deadline, timedOut } from './classify.js';
import { DEFAULT_TIMEOUT_MS, type Probe, type ProbeResult } from './types.js';

export const tcp: Probe = {
	run: ({ address, port, options }, { network }) =>
		new Promise<ProbeResult>((resolve) => {
			const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
			const started = performance.now();
			const socket = network.connect(address, port!);
			const done = (result: Omit<ProbeResult, 'ms'>) => {
				cancel();
				socket.destroy();
				resolve({ ...result, ms: performance.now() - started });
			};
			const cancel = deadline(timeout, () => done(timedOut(timeout)));
			socket.once('connect', () =>
				done({
					status: 'ok',
					detail: `connected to ${address}:${port} from ${socket.localAddress}:${socket.localPort}`,
				}),
			);
			socket.once('error', (error) => done(classifyError(error)));
		}),
};
