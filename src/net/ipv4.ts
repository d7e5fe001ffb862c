// IPv4 arithmetic over ipaddr.js: parsing is the library's, allocation inside a subnet is ours.
import ipaddr from 'ipaddr.js';

export interface Cidr { base: number; prefix: number; text: string }

export const toInt = (ip: string): number =>
	ipaddr.IPv4.parse(ip).toByteArray().reduce((n, b) => n * 256 + b, 0);

export const toIp = (n: number): string =>
	[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export function parseCidr(text: string): Cidr {
	const [addr, prefix] = ipaddr.IPv4.parseCIDR(text);
	const size = 2 ** (32 - prefix);
	const base = Math.floor(toInt(addr.toString()) / size) * size;
	return { base, prefix, text: `${toIp(base)}/${prefix}` };
}

export const size = (c: Cidr): number => 2 ** (32 - c.prefix);
export const contains = (c: Cidr, ip: string): boolean => {
	const n = toInt(ip);
	return n >= c.base && n < c.base + size(c);
};
export const overlaps = (a: Cidr, b: Cidr): boolean =>
	a.base < b.base + size(b) && b.base < a.base + size(a);
/** True for the network and broadcast addresses of subnets larger than /31. */
export const isReserved = (c: Cidr, ip: string): boolean =>
	c.prefix < 31 && (toInt(ip) === c.base || toInt(ip) === c.base + size(c) - 1);
/** The address `offset` hosts into the subnet (offset 1 is the first host). */
export const hostAt = (c: Cidr, offset: number): string => toIp(c.base + offset);

/** RFC 5737 documentation ranges: addresses that exist on no real network. */
export const TEST_NETS = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map(parseCidr);
export const isTestNet = (ip: string): boolean => TEST_NETS.some((c) => contains(c, ip));
