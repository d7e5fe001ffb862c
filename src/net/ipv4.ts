// IPv4 arithmetic over ipaddr.js: parsing is the library's, allocation inside a subnet is ours.
import ipaddr from 'ipaddr.js';

export interface Cidr {
	base: number;
	prefix: number;
	text: string;
}

/**
 * `fn`, remembering up to `size` answers (then starting over): the model asks for the same lab addresses and subnets
 * millions of times in a big matrix.
 */
function memoised<T>(fn: (text: string) => T, size: number): (text: string) => T {
	const known = new Map<string, T>();
	return (text) => {
		let value = known.get(text);
		if (value === undefined) {
			value = fn(text);
			if (known.size > size) known.clear();
			known.set(text, value);
		}
		return value;
	};
}

export const toInt = memoised(
	(ip) =>
		ipaddr.IPv4.parse(ip)
			.toByteArray()
			.reduce((acc, b) => acc * 256 + b, 0),
	100_000,
);

export const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Throws on text that is not a CIDR. */
export const parseCidr = memoised((text): Cidr => {
	const [addr, prefix] = ipaddr.IPv4.parseCIDR(text);
	const size = 2 ** (32 - prefix);
	const base = Math.floor(toInt(addr.toString()) / size) * size;
	return { base, prefix, text: `${toIp(base)}/${prefix}` };
}, 10_000);

/** A dotted quad of four 0-255 octets, nothing else (no leading zeros, no shorthand). */
export const isIPv4 = memoised((text) => ipaddr.IPv4.isValidFourPartDecimal(text), 100_000);

/** Ranges a lab network may not use: they mean something to every IP stack, the lab's own included. */
const SPECIAL = [
	{ cidr: '0.0.0.0/8', what: '"this network" (0.0.0.0/8)' },
	{ cidr: '127.0.0.0/8', what: 'loopback (127.0.0.0/8): every node has it already' },
	{ cidr: '224.0.0.0/4', what: 'multicast (224.0.0.0/4): no host has a unicast address there' },
	{ cidr: '240.0.0.0/4', what: 'reserved (240.0.0.0/4): Linux refuses to route it' },
];
export const MIN_PREFIX = 8;

/** What is wrong with `text` as a lab subnet (written as a CIDR), or undefined when it is usable. */
export function subnetProblem(text: string): { message: string; hint?: string } | undefined {
	let cidr: Cidr;
	try {
		cidr = parseCidr(text);
	} catch {
		return { message: `"${text}" is not a subnet`, hint: 'write it as CIDR, e.g. 10.1.0.0/16' };
	}
	const [address] = text.split('/');
	if (cidr.prefix < MIN_PREFIX)
		return {
			message: `subnet ${text} is too large for a lab (/${cidr.prefix})`,
			hint: `use a prefix of /${MIN_PREFIX} or longer, e.g. 10.0.0.0/16`,
		};
	if (cidr.prefix > 31)
		return {
			message: `subnet ${text} holds a single address: no two nodes can meet on it`,
			hint: 'use /30 or shorter, e.g. 10.9.0.0/30',
		};
	if (toInt(address) !== cidr.base)
		return { message: `subnet ${text} has host bits set`, hint: `the network is ${cidr.text}` };
	const special = SPECIAL.find((s) => overlaps(parseCidr(s.cidr), cidr));
	if (special)
		return {
			message: `subnet ${text} is in ${special.what}`,
			hint: 'use a private range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
		};
	return undefined;
}

export const size = (c: Cidr): number => 2 ** (32 - c.prefix);
export const contains = (c: Cidr, ip: string): boolean => {
	const n = toInt(ip);
	return n >= c.base && n < c.base + 2 ** (32 - c.prefix);
};
export const overlaps = (a: Cidr, b: Cidr): boolean => a.base < b.base + size(b) && b.base < a.base + size(a);
/** True for the network and broadcast addresses of subnets larger than /31. */
export const isReserved = (c: Cidr, ip: string): boolean =>
	c.prefix < 31 && (toInt(ip) === c.base || toInt(ip) === c.base + size(c) - 1);
/** The address `offset` hosts into the subnet (offset 1 is the first host). */
export const hostAt = (c: Cidr, offset: number): string => toIp(c.base + offset);

/** RFC 5737 documentation ranges: addresses that exist on no real network. */
export const TEST_NETS = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map(parseCidr);
export const isTestNet = (ip: string): boolean => TEST_NETS.some((c) => contains(c, ip));
