// dns: a DNS query (an A record) to a resolver — a NAT engine's at 10.0.2.3, or a node running `dns`.
// Says what the name resolved to; the outcomes are udp's: an answer, ICMP port unreachable, silence.
import dnsPacket from 'dns-packet';
import { match, text, timeout } from './options.js';
import { DEFAULT_TIMEOUT_MS, defineProbe } from './types.js';
import { exchange } from './udp.js';

const RCODES: Record<string, string> = {
	NXDOMAIN: 'no such name (NXDOMAIN)',
	SERVFAIL: 'the resolver failed (SERVFAIL)',
};

export const dns = defineProbe({
	name: 'dns',
	summary: 'DNS query (A) to a resolver: what the name resolved to, refused (ICMP) or filtered',
	port: 'optional',
	defaultPort: 53,
	packet: { proto: 'udp', app: true },
	judged: 'reach',
	inFlight: 256,
	options: {
		timeout,
		match,
		name: text().describe("dns: the name to resolve (default: the target node's, NAME.lab).").optional(),
	},
	evidence(check, result) {
		const name = check.options.name ?? `${check.to.node ?? 'internet'}.lab`;
		return [
			`${check.from}$ dig +short @${check.to.address} -p ${check.to.port} ${name}`,
			String((result.evidence as { answer?: string } | undefined)?.answer ?? result.detail),
		];
	},
	async run({ address, port, node, options }, { network, timeoutMs }) {
		const started = performance.now();
		const name = options.name ?? `${node ?? 'internet'}.lab`;
		const id = Math.floor(Math.random() * 65536);
		const query = dnsPacket.encode({
			type: 'query',
			id,
			flags: dnsPacket.RECURSION_DESIRED,
			questions: [{ type: 'A', name }],
		});
		const got = await exchange(network, address, port ?? 53, query, options.timeout ?? timeoutMs ?? DEFAULT_TIMEOUT_MS);
		const ms = () => performance.now() - started;
		if (!('reply' in got)) return { ...got, ms: ms() };
		let reply: dnsPacket.Packet;
		try {
			reply = dnsPacket.decode(got.reply);
		} catch {
			return {
				status: 'ok',
				detail: `${address}:${port} answered, but not in DNS`,
				mismatch: 'not a DNS answer',
				ms: ms(),
			};
		}
		const addresses = (reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [String(a.data)] : []));
		// dns-packet decodes the response code, its types do not say so.
		const rcode = (reply as { rcode?: string }).rcode ?? 'NOERROR';
		const resolved = addresses.length > 0 ? `${name} → ${addresses.join(', ')}` : `${name}: ${RCODES[rcode] ?? rcode}`;
		const mismatch =
			reply.id !== id
				? 'the answer is for another query'
				: addresses.length === 0
					? (RCODES[rcode] ?? `no address (${rcode})`)
					: options.match !== undefined && !addresses.some((a) => a.includes(options.match!))
						? `${name} resolved to ${addresses.join(', ')}, not ${options.match}`
						: undefined;
		return {
			status: 'ok',
			detail: `${resolved} (from ${address}:${port ?? 53})`,
			mismatch,
			ms: ms(),
			evidence: { name, answer: addresses.join('\n') || rcode, rcode },
		};
	},
});
