// udp: one datagram, one answer. An answer (ok), ICMP port unreachable (refused: the host is there, nothing listens),
// ICMP host unreachable (unreachable), silence (filtered) — UDP's version of what tcp tells apart.
import type { Socket } from 'node:dgram';
import { classifyError, deadline, timedOut } from './classify.js';
import { timeout } from './options.js';
import { DEFAULT_TIMEOUT_MS, defineProbe, type NodeNetwork, type ProbeResult } from './types.js';

const PAYLOAD = Buffer.from('labcheck udp probe\n');
const SEEN_FROM = /^labcheck-seen-from (\S+) \d+/;

/**
 * Sends `payload` from the node to address:port on a connected socket (so the kernel reports ICMP errors to it) and
 * waits for one datagram back.
 */
export function exchange(
	network: NodeNetwork,
	address: string,
	port: number,
	payload: Buffer,
	ms: number,
): Promise<{ reply: Buffer; local: string } | Omit<ProbeResult, 'ms'>> {
	return new Promise((resolve) => {
		let socket: Socket;
		try {
			socket = network.udp();
		} catch (error) {
			return resolve({ status: 'error', detail: (error as Error).message });
		}
		let settled = false;
		const done = (result: { reply: Buffer; local: string } | Omit<ProbeResult, 'ms'>) => {
			if (settled) return;
			settled = true;
			cancel();
			socket.close();
			resolve(result);
		};
		const failed = (error: NodeJS.ErrnoException | null) => {
			if (!error) return;
			done(
				error.code === 'ECONNREFUSED'
					? { status: 'refused', detail: 'ICMP port unreachable: the host answered, nothing listens on that UDP port' }
					: classifyError(error),
			);
		};
		const cancel = deadline(ms, () => done(timedOut(ms)));
		socket.on('message', (reply) => done({ reply, local: `${socket.address().address}:${socket.address().port}` }));
		socket.on('error', failed);
		// A connect that fails (no route) calls back with its error; a send that fails likewise.
		socket.connect(port, address, (error?: Error) => {
			if (error) failed(error);
			else if (!settled) socket.send(payload, failed);
		});
	});
}

export const udp = defineProbe({
	name: 'udp',
	summary: 'UDP datagram: an answer, ICMP port unreachable (refused), unreachable or silence (filtered)',
	port: 'required',
	packet: { proto: 'udp', app: true },
	judged: 'reach',
	inFlight: 1024,
	options: { timeout },
	evidence: (check, result) => [`${check.from}$ nc -u ${check.to.address} ${check.to.port}`, result.detail],
	async run({ address, port, options }, { network, timeoutMs }) {
		const started = performance.now();
		const ms = options.timeout ?? timeoutMs ?? DEFAULT_TIMEOUT_MS;
		const got = await exchange(network, address, port!, PAYLOAD, ms);
		if (!('reply' in got)) return { ...got, ms: performance.now() - started };
		const seen = SEEN_FROM.exec(got.reply.toString('latin1'))?.[1];
		return {
			status: 'ok',
			detail: `${got.reply.length} bytes back from ${address}:${port}`,
			seenFrom: seen,
			ms: performance.now() - started,
		};
	},
});
