// ping: ICMP echo with net-ping (raw socket, root). Stops at the first loss so a dropped pair costs one timeout.
import netPing from 'net-ping';
import { classifyError, timedOut } from './classify.js';
import { deadline, DEFAULT_TIMEOUT_MS, type NodeNetwork, type Probe, type ProbeResult } from './types.js';

// One raw socket per node network, kept for the run: opening one per probe raced with replies
// arriving before it listened. net-ping's own timeout only cleans up; `deadline` decides.
const SESSION_TIMEOUT_MS = 30_000;
const sessions = new WeakMap<NodeNetwork, ReturnType<typeof netPing.createSession>>();
let created = 0;
function sessionFor(network: NodeNetwork) {
	let session = sessions.get(network);
	if (!session) {
		const id = ((process.pid * 131 + created++) % 65534) + 1;
		session = network.within(() => netPing.createSession({ timeout: SESSION_TIMEOUT_MS, retries: 0, packetSize: 64, sessionId: id }));
		session.on('error', () => {});
		sessions.set(network, session);
		network.hold(session);
	}
	return session;
}
const ICMP_ERRORS: Record<string, { status: ProbeResult['status']; what: string }> = {
	DestinationUnreachableError: { status: 'unreachable', what: 'destination unreachable' },
	TimeExceededError: { status: 'unreachable', what: 'time exceeded (routing loop?)' },
	PacketTooBigError: { status: 'error', what: 'packet too big' },
	ParameterProblemError: { status: 'error', what: 'parameter problem' },
	RedirectReceivedError: { status: 'error', what: 'redirect received' },
	SourceQuenchError: { status: 'error', what: 'source quench' },
};

type Echo = { rtt?: number; error?: Error & { source?: string } };

// One echo request. net-ping (re)opens its raw socket lazily inside pingHost: that happens in the node too.
const echo = (network: NodeNetwork, address: string, timeout: number) =>
	new Promise<Echo>((resolve) => {
		const session = sessionFor(network);
		const sent = performance.now();
		let settled = false;
		const settle = (reply: Echo) => { if (!settled) { settled = true; cancel(); resolve(reply); } };
		const cancel = deadline(timeout, () => settle({ error: Object.assign(new Error('timed out'), { name: 'RequestTimedOutError' }) }));
		network.within(() => session.pingHost(address, (error) => {
			settle(error ? { error } : { rtt: Math.round((performance.now() - sent) * 1000) / 1000 });
		}));
	});

export const ping: Probe = {
	async run({ address, options }, { network }) {
		const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
		const count = options.count ?? 3;
		const started = performance.now();
		const rtts: number[] = [];
		let failure: (Error & { source?: string }) | undefined;
		for (let i = 0; i < count && !failure; i++) {
			const reply = await echo(network, address, timeout);
			if (reply.error) failure = reply.error;
			else rtts.push(reply.rtt!);
		}
		const ms = performance.now() - started;
		const sent = rtts.length + (failure ? 1 : 0);
		const stats = `${sent} packets transmitted, ${rtts.length} received, ${Math.round((100 * (sent - rtts.length)) / sent)}% packet loss`;
		const evidence = { transmitted: sent, received: rtts.length, rtt: rtts, statistics: stats };
		if (!failure) {
			const [min, max] = [Math.min(...rtts), Math.max(...rtts)];
			const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
			return { status: 'ok', ms, detail: `${rtts.length}/${sent} replies, rtt min/avg/max ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`, evidence: { ...evidence, min, avg, max } };
		}
		if (failure.name === 'RequestTimedOutError') return { ...timedOut(timeout), ms, evidence };
		const icmp = ICMP_ERRORS[failure.name];
		if (icmp) return { status: icmp.status, ms, detail: `${icmp.what}, reported by ${failure.source}`, evidence: { ...evidence, icmpFrom: failure.source } };
		// raw-socket reports a failed send by its message alone ("Network is unreachable"), with no errno code.
		if (/network is unreachable/i.test(failure.message)) return { status: 'no-route', detail: `no route: ${failure.message}`, ms, evidence };
		return { ...classifyError(failure), ms, evidence };
	},
};
