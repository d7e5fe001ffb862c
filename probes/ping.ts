// ping: ICMP echo with net-ping (raw socket, root). Stops at the first loss so a dropped pair costs one timeout.
import { readFileSync } from 'node:fs';
import netPing, { type PingCallback, type Session } from 'net-ping';
import { classifyError, timedOut } from './classify.js';
import { z } from 'zod';
import { timeout } from './options.js';
import { DEFAULT_TIMEOUT_MS, defineProbe, type NodeNetwork, type ProbeResult } from './types.js';

// One raw socket per node network, kept for the run (opening one per probe raced with replies
// arriving before it listened). Its event-loop turns matter: raw-socket sends one queued request
// and reads one packet per turn, and the socket also sees every other ICMP packet of the node.
// So a probe's clock starts when its request really leaves, and a silent pair is declared only
// once the socket has nothing more to read — a reply that arrived in time always counts, however
// busy labcheck was. net-ping's own timeout only cleans up.
const SESSION_TIMEOUT_MS = 30_000;
interface IcmpSocket {
	session: Session;
	heard: number;
	onSent: Map<PingCallback, () => void>;
	/** Packets the kernel dropped because the socket's receive buffer was full, as last read. */
	drops: number;
}

// SO_RCVBUFFORCE (root: past net.core.rmem_max): room for a burst of replies beyond the default 208 KiB. Since the
// filter below keeps other nodes' echo requests off the socket, no run here has filled even the smallest buffer.
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
// LABCHECK_ICMP_BUFFER (bytes) makes it small, to see what labcheck says when it overflows.
const RECEIVE_BUFFER = Number(process.env.LABCHECK_ICMP_BUFFER) || 4 * 1024 * 1024;
// ICMP_FILTER (raw(7)): the types the kernel keeps off the socket. A node's socket wants replies and the errors
// net-ping reports — not the echo requests every other node sends it (half of a matrix's packets: each would be
// copied to the socket, read and thrown away).
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const WANTED = [0, 3, 4, 5, 11, 12]; // echo reply, unreachable, source quench, redirect, time exceeded, parameter
const FILTER = Buffer.alloc(4);
FILTER.writeUInt32LE(~WANTED.reduce((mask, type) => mask | (1 << type), 0) >>> 0);
// LABCHECK_ICMP_FILTER=0 lets every type in, as before the filter: with a tiny buffer, the way to see an overflow.
const FILTERED = process.env.LABCHECK_ICMP_FILTER !== '0';

/** What the kernel dropped at the node's raw sockets (labcheck's: a node has no other), for want of buffer. */
function socketDrops(network: NodeNetwork): number {
	try {
		const table = network.within(() => readFileSync('/proc/thread-self/net/raw', 'utf8'));
		let drops = 0;
		for (const line of table.trim().split('\n').slice(1)) drops += Number(line.trim().split(/\s+/).at(-1)) || 0;
		return drops;
	} catch {
		return 0;
	}
}
const sockets = new WeakMap<NodeNetwork, IcmpSocket>();
let created = 0;

function socketFor(network: NodeNetwork): IcmpSocket {
	let socket = sockets.get(network);
	if (!socket) {
		const id = ((process.pid * 131 + created++) % 65534) + 1;
		const session = network.within(() =>
			netPing.createSession({ timeout: SESSION_TIMEOUT_MS, retries: 0, packetSize: 64, sessionId: id }),
		);
		try {
			session.getSocket().setOption(SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER);
		} catch {
			// Without CAP_NET_ADMIN the default buffer stays; drops are still seen (socketDrops).
		}
		if (FILTERED) session.getSocket().setOption(SOL_RAW, ICMP_FILTER, FILTER, 4);
		const tracked: IcmpSocket = { session, heard: 0, onSent: new Map(), drops: 0 };
		// net-ping says nothing when a request leaves: its instance's send hook is wrapped to tell us.
		const sent = session.onSocketSend;
		session.onSocketSend = function (this: Session, request, ...rest) {
			sent.call(this, request, ...rest);
			tracked.onSent.get(request.callback)?.();
			tracked.onSent.delete(request.callback);
		};
		session.getSocket().on('message', () => {
			tracked.heard++;
		});
		session.on('error', () => {});
		sockets.set(network, tracked);
		// Closed with the node's network; a later probe from it then fails instead of opening a socket elsewhere.
		network.hold({
			close: () => {
				sockets.delete(network);
				session.close();
			},
		});
		socket = tracked;
	}
	return socket;
}

/** Resolves once the socket has nothing left to read: a turn of the event loop read nothing from it. */
async function drained(socket: IcmpSocket): Promise<void> {
	for (let turn = 0; turn < 10_000; turn++) {
		const heard = socket.heard;
		await new Promise((resolve) => setImmediate(resolve));
		if (socket.heard === heard) return;
	}
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

const LOST = (n: number) =>
	`no answer, but labcheck's ICMP socket dropped ${n} packet(s) meanwhile (its receive buffer was full): ` +
	"the reply may be among them — labcheck's limit, not the network's";

const echo = (network: NodeNetwork, address: string, timeout: number) =>
	new Promise<Echo>((resolve) => {
		const socket = socketFor(network);
		const dropsBefore = socket.drops;
		let settled = false;
		let sentAt = 0;
		let timer: NodeJS.Timeout | undefined;
		const settle = (reply: Echo) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			resolve(reply);
		};
		const callback: PingCallback = (error) =>
			settle(error ? { error } : { rtt: Math.round((performance.now() - sentAt) * 1000) / 1000 });
		socket.onSent.set(callback, () => {
			sentAt = performance.now();
			if (settled) return;
			timer = setTimeout(
				() =>
					void drained(socket).then(() => {
						// Silence while the socket overflowed may be a reply the kernel threw away: labcheck's limit.
						socket.drops = Math.max(socket.drops, socketDrops(network));
						const lost = socket.drops - dropsBefore;
						settle({
							error:
								lost > 0
									? Object.assign(new Error(LOST(lost)), { name: 'LocalLimitError' })
									: Object.assign(new Error('timed out'), { name: 'RequestTimedOutError' }),
						});
					}),
				timeout,
			);
		});
		socket.session.pingHost(address, callback);
	});

export const ping = defineProbe({
	name: 'ping',
	summary: 'ICMP echo (net-ping): loss and rtt min/avg/max',
	port: 'none',
	packet: { proto: 'icmp' },
	judged: 'reach',
	// A ping in flight is a timer and a table entry: all of a big matrix at once, so its silent pairs cost one timeout.
	inFlight: 4096,
	options: { timeout, count: z.int().min(1).max(100).describe('ping: echo requests to send.').optional() },
	evidence(check, result) {
		const e = (result.evidence ?? {}) as Record<string, unknown>;
		const to = check.to.address;
		const lines = [`${check.from}$ ping -c ${check.options.count ?? 3} ${to}`];
		for (const [i, rtt] of ((e.rtt as number[]) ?? []).entries())
			lines.push(`64 bytes from ${to}: icmp_seq=${i + 1} time=${rtt.toFixed(3)} ms`);
		if (result.status !== 'ok') lines.push(result.detail);
		if (e.statistics) lines.push(`--- ${to} ping statistics ---`, String(e.statistics));
		const [min, avg, max] = [e.min, e.avg, e.max] as number[];
		if (typeof min === 'number')
			lines.push(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
		return lines;
	},
	async run({ address, options }, { network, timeoutMs }) {
		const timeout = options.timeout ?? timeoutMs ?? DEFAULT_TIMEOUT_MS;
		const count = options.count ?? 3;
		if (network.command) return nodePing(network, address, count, timeout);
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
		const loss = Math.round((100 * (sent - rtts.length)) / sent);
		const stats = `${sent} packets transmitted, ${rtts.length} received, ${loss}% packet loss`;
		const evidence = { transmitted: sent, received: rtts.length, rtt: rtts, statistics: stats };
		if (!failure) {
			const [min, max] = [Math.min(...rtts), Math.max(...rtts)];
			const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
			const rtt = [min, avg, max].map((x) => x.toFixed(3)).join('/');
			return {
				status: 'ok',
				ms,
				detail: `${rtts.length}/${sent} replies, rtt min/avg/max ${rtt} ms`,
				evidence: { ...evidence, min, avg, max },
			};
		}
		if (failure.name === 'RequestTimedOutError') return { ...timedOut(timeout), ms, evidence };
		if (failure.name === 'LocalLimitError')
			return { status: 'error', detail: failure.message, ms, evidence, unprobed: true };
		const icmp = ICMP_ERRORS[failure.name];
		if (icmp)
			return {
				status: icmp.status,
				ms,
				detail: `${icmp.what}, reported by ${failure.source}`,
				evidence: { ...evidence, icmpFrom: failure.source },
			};
		// raw-socket reports a failed send by its message alone ("Network is unreachable"), with no errno code.
		if (/network is unreachable/i.test(failure.message))
			return { status: 'no-route', detail: `no route: ${failure.message}`, ms, evidence };
		return { ...classifyError(failure), ms, evidence };
	},
});

/**
 * ping on a real machine: the node's own `ping` (iputils or busybox), its output read back — replies, loss, rtt, the
 * ICMP error and who sent it. Its timeout is whole seconds (at least one); 0.2 s between requests, the shortest
 * iputils allows a user who is not root (busybox takes it too).
 */
async function nodePing(network: NodeNetwork, address: string, count: number, timeout: number): Promise<ProbeResult> {
	const started = performance.now();
	if (!/^[0-9.]+$/.test(address)) return { status: 'error', detail: `not an IPv4 address: ${address}`, ms: 0 };
	const seconds = Math.max(1, Math.ceil(timeout / 1000));
	const { exitCode, output } = await network.command!(
		`LC_ALL=C ping -n -c ${count} -i 0.2 -W ${seconds} ${address} 2>&1`,
		count * seconds * 1000 + 5000,
	);
	return { ...readPing(output, exitCode, timeout), ms: performance.now() - started };
}

/** What a ping's output says (iputils' and busybox's wording). */
export function readPing(output: string, exitCode: number | null, timeout: number): Omit<ProbeResult, 'ms'> {
	const rtt = [...output.matchAll(/time[=<]([\d.]+) ?ms/g)].map((m) => Number(m[1]));
	const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
	const summary = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(output);
	const ttl = /ttl=(\d+)/.exec(output)?.[1];
	const evidence = {
		transmitted: stats ? Number(stats[1]) : undefined,
		received: stats ? Number(stats[2]) : rtt.length,
		rtt,
		statistics: stats?.[0],
		output: output.trim(),
		...(ttl ? { ttl: Number(ttl) } : {}),
	};
	const unreachable = /From (\S+).*(?:Unreachable|unreachable)/.exec(output);
	if (stats && Number(stats[2]) > 0 && exitCode === 0) {
		const [min, avg, max] = summary ? summary.slice(1, 4).map(Number) : [0, 0, 0];
		return {
			status: 'ok',
			detail: `${stats[2]}/${stats[1]} replies, rtt min/avg/max ${summary?.slice(1, 4).join('/') ?? '?'} ms`,
			evidence: { ...evidence, min, avg, max },
		};
	}
	if (/network is unreachable/i.test(output))
		return { status: 'no-route', detail: 'no route: Network is unreachable', evidence };
	if (unreachable)
		return { status: 'unreachable', detail: `destination unreachable, reported by ${unreachable[1]}`, evidence };
	if (/not found|No such file/i.test(output) && !stats)
		return { status: 'error', detail: `the node has no ping: ${output.trim().split('\n')[0]}`, evidence };
	if (stats) return { ...timedOut(timeout), evidence };
	return { status: 'error', detail: output.trim().split('\n')[0] || `ping exited ${exitCode}`, evidence };
}
