// The lab's UDP services: `dns` answers the lab's names (NAME and NAME.lab → the node's address), as a
// NAT engine's resolver at 10.0.2.3 does for its guest; `echo` answers every datagram with the address
// it came from. Both bounded: a datagram is at most 512 bytes read, one answer each.
import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import dnsPacket from 'dns-packet';

export const UDP_SERVICES = ['dns', 'echo'] as const;
export type UdpServiceName = (typeof UDP_SERVICES)[number];

export const SEEN_FROM = 'labcheck-seen-from';

/** "vm=10.0.2.15,host=10.1.5.22" → name → address, NAME and NAME.lab both. */
export function parseNames(text: string | undefined): Map<string, string> {
	const names = new Map<string, string>();
	for (const pair of (text ?? '').split(',').filter(Boolean)) {
		const [name, address] = pair.split('=');
		names.set(name.toLowerCase(), address);
		names.set(`${name.toLowerCase()}.lab`, address);
	}
	return names;
}

/** The answer to one DNS query: A records from `names`, NXDOMAIN for others, FORMERR for what is not a query. */
export function answer(query: Buffer, names: Map<string, string>): Buffer | undefined {
	let packet: dnsPacket.Packet;
	try {
		packet = dnsPacket.decode(query);
	} catch {
		// Not DNS: a server that can read the header says so (FORMERR), as BIND does.
		if (query.length < 12) return undefined;
		const reply = Buffer.alloc(12);
		query.copy(reply, 0, 0, 2);
		reply.writeUInt16BE(0x8001, 2); // response, FORMERR
		return reply;
	}
	if (packet.type !== 'query') return undefined;
	const question = packet.questions?.[0];
	const name = question?.name.toLowerCase().replace(/\.$/, '');
	const address = name === undefined ? undefined : names.get(name);
	const found = address !== undefined;
	return dnsPacket.encode({
		type: 'response',
		id: packet.id,
		flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (found ? 0 : 3), // rcode 3: NXDOMAIN
		questions: packet.questions,
		answers:
			found && question?.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, class: 'IN', data: address }] : [],
	});
}

/**
 * Listens on `host`, or on each IPv4 address of the node — one socket an address, so that an answer leaves from the
 * address its question went to (a socket on 0.0.0.0 would answer from whatever address the route back prefers, and a
 * client's connected socket drops that). Resolves once every socket is bound.
 */
export async function startUdpService(
	name: UdpServiceName,
	options: { port: number; host?: string; names?: Map<string, string> },
): Promise<Socket[]> {
	const addresses = options.host
		? [options.host]
		: Object.values(networkInterfaces())
				.flat()
				.flatMap((a) => (a?.family === 'IPv4' ? [a.address] : []));
	return Promise.all(addresses.map((address) => listen(name, address, options)));
}

function listen(name: UdpServiceName, address: string, options: { port: number; names?: Map<string, string> }) {
	const socket = createSocket('udp4');
	socket.on('message', (message, peer) => {
		const reply =
			name === 'echo'
				? Buffer.from(`${SEEN_FROM} ${peer.address} ${peer.port}\n`)
				: answer(message.subarray(0, 512), options.names ?? new Map());
		if (reply) socket.send(reply, peer.port, peer.address);
	});
	return new Promise<Socket>((resolve, reject) => {
		socket.once('error', reject);
		socket.bind(options.port, address, () => {
			socket.off('error', reject);
			socket.on('error', () => {}); // an ICMP error of a client that went away is not the service's
			resolve(socket);
		});
	});
}
