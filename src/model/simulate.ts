// A packet's way through the plan, hop by hop — routing, NAT engines, port forwards, Docker's NAT
// and isolation, routers' SNAT and floating IPs, security groups — then its reply's way back through
// the same translations (conntrack). No I/O: the model that predicts what the lab will measure.
import { contains, parseCidr } from '../net/ipv4.js';
import type { PlanInterface, PlanNode } from '../plan/types.js';
import {
	dockerNetwork,
	lookup,
	network,
	node as nodeOf,
	ownerOn,
	ownsAddress,
	upInterfaces,
	type View,
} from './network.js';

export type Proto = 'icmp' | 'tcp';
export interface Packet {
	src: string;
	dst: string;
	proto: Proto;
	dport?: number;
	/** The probe needs an answer from the application (http, ssh), not just an accepted connection (tcp). */
	app?: boolean;
}
export interface Hop {
	node: string;
	note: string;
}
type Translation = {
	node: string;
	kind: 'snat' | 'dnat';
	before: string;
	after: string;
	beforePort?: number;
	afterPort?: number;
};

/** How a probe ends in the model, with the status the real probe would report. */
export interface Outcome {
	status: 'ok' | 'refused' | 'no-route' | 'unreachable' | 'filtered';
	hops: Hop[];
	/** The node and the reason where the packet (or its reply) died; undefined when it got through. */
	stop?: { node: string; why: string };
	/** The source address the target saw. */
	seenFrom?: string;
}

const MAX_HOPS = 16;

interface Walk {
	delivered?: { node: PlanNode; packet: Packet; arrivedOn?: PlanInterface };
	status?: Outcome['status'];
	stop?: { node: string; why: string };
}

const listening = (n: PlanNode, port: number | undefined) => n.services.some((s) => !s.stopped && s.port === port);

export function simulate(v: View, from: string, packet: Packet): Outcome {
	const hops: Hop[] = [];
	const translations: Translation[] = [];
	const there = walk(v, nodeOf(v, from), packet, hops, translations, false);
	if (!there.delivered) return { status: there.status!, hops, stop: there.stop };
	const target = there.delivered.node;
	const seen = there.delivered.packet;
	// Docker's userland proxy: a container reaching its engine's own address on a published port is not
	// DNATed (Docker skips packets from its bridges) — docker-proxy, listening on the engine, accepts and
	// relays from the container network's gateway, across Docker's network isolation.
	const proxied =
		packet.proto === 'tcp' && fromDockerBridge(v, there.delivered.arrivedOn)
			? publishedBy(v, target, seen.dport)
			: undefined;
	if (proxied) {
		hops.push({
			node: target.name,
			note:
				`docker-proxy accepts on port ${seen.dport} and relays to ` +
				`${proxied.container.name} ${proxied.address}:${proxied.port}`,
		});
		const gateway = v.plan.networks.find((x) => x.name === proxied.container.interfaces[0].network)?.gateway;
		if (packet.app && !listening(proxied.container, proxied.port)) {
			return {
				status: 'refused',
				hops,
				seenFrom: seen.src,
				stop: {
					node: proxied.container.name,
					why:
						`docker-proxy's relay finds nothing listening on ${proxied.address}:${proxied.port}, ` +
						'and closes the connection',
				},
			};
		}
		return { status: 'ok', hops, seenFrom: packet.app ? gateway : seen.src };
	}
	if (packet.proto === 'tcp' && !listening(target, seen.dport)) {
		return {
			status: 'refused',
			hops,
			seenFrom: seen.src,
			stop: { node: target.name, why: `nothing listens on ${seen.dst}:${seen.dport}` },
		};
	}
	hops.push({ node: target.name, note: `replies to ${seen.src}` });
	const reply: Packet = { src: seen.dst, dst: seen.src, proto: packet.proto, app: packet.app };
	const onRequestPath = new Set(hops.map((h) => h.node));
	const back = walk(v, target, reply, hops, translations, true, onRequestPath);
	if (!back.delivered) return { status: 'filtered', hops, seenFrom: seen.src, stop: back.stop };
	return { status: 'ok', hops, seenFrom: seen.src };
}

function walk(
	v: View,
	start: PlanNode,
	packet: Packet,
	hops: Hop[],
	translations: Translation[],
	reply: boolean,
	onRequestPath = new Set<string>(),
): Walk {
	let n = start;
	let p = { ...packet };
	let local = true;
	let arrivedOn: PlanInterface | undefined;
	let dnated = false;
	for (let hop = 0; hop < MAX_HOPS; hop++) {
		const note = (text: string) => hops.push({ node: n.name, note: text });
		if (reply) p = unNat(n, p, translations, note);
		// A request is DNATed where it arrives (PREROUTING), or where it starts (OUTPUT).
		const d = reply ? undefined : local ? outputDnat(v, n, p) : prerouting(v, n, p, arrivedOn);
		if (d) {
			translations.push({ node: n.name, kind: 'dnat', before: p.dst, after: d.dst, beforePort: p.dport, afterPort: d.dport });
			note(d.why);
			p = { ...p, dst: d.dst, dport: d.dport };
			dnated = true;
		}
		if (ownsAddress(v, n, p.dst)) {
			const denied = local ? undefined : securityGroup(n, p, reply);
			if (denied) return { status: 'filtered', stop: { node: n.name, why: denied } };
			return { delivered: { node: n, packet: p, arrivedOn } };
		}
		if (!local && !n.forwarding && !n.engine)
			return {
				status: 'filtered',
				stop: { node: n.name, why: `${n.name} does not forward packets that are not for it, and drops them` },
			};
		const route = lookup(v, n, p.dst, local && !reply && !dnated && n.nat.length > 0);
		if (!route) {
			const why = `${n.name} has no route to ${p.dst}`;
			return local
				? { status: 'no-route', stop: { node: n.name, why } }
				: { status: 'unreachable', stop: { node: n.name, why } };
		}
		if (!local) {
			const blocked = reply ? undefined : forwardFilter(v, n, arrivedOn, route.iface, dnated);
			if (blocked) return { status: 'filtered', stop: { node: n.name, why: blocked } };
		}
		if (!reply) {
			const s = postrouting(v, n, p, route.iface, dnated);
			if (s) {
				translations.push({ node: n.name, kind: 'snat', before: p.src, after: s.src });
				note(s.why);
				p = { ...p, src: s.src };
			}
		} else if (
			!local &&
			p.proto === 'tcp' &&
			p.app &&
			!onRequestPath.has(n.name) &&
			postrouting(v, n, p, route.iface, false)
		) {
			// A router that sees only the reply half of a TCP connection (asymmetric routes) picks it up
			// mid-stream at the first data packet and applies its source NAT to it: the client drops the
			// data. The handshake itself passes (a SYN-ACK alone is not tracked), so a plain connect works.
			return {
				status: 'filtered',
				stop: {
					node: n.name,
					why:
						`${n.name} sees only the replies of this connection (the request went another way) ` +
						`and rewrites their source with its SNAT: ${p.dst} drops the answer`,
				},
			};
		}
		const next = route.via ?? p.dst;
		const neighbour = ownerOn(v, route.iface.network, next);
		note(`→ ${route.iface.ifname} ${route.via ? `via ${route.via}` : 'on-link'} (${route.iface.network})`);
		// No ARP answer: the kernel gives up after ~3 s, so a probe with a shorter timeout sees silence.
		if (!neighbour)
			return {
				status: local ? 'filtered' : 'unreachable',
				stop: { node: n.name, why: `nothing on ${route.iface.network} answers ARP for ${next}` },
			};
		arrivedOn = upInterfaces(v, neighbour).find((i) => i.network === route.iface.network);
		n = neighbour;
		local = false;
	}
	return { status: 'unreachable', stop: { node: n.name, why: 'routing loop' } };
}

const inSubnet = (subnet: string, address: string) => contains(parseCidr(subnet), address);

function prerouting(
	v: View,
	n: PlanNode,
	p: Packet,
	arrivedOn: PlanInterface | undefined,
): { dst: string; dport?: number; why: string } | undefined {
	const local = ownsAddress(v, n, p.dst);
	for (const nat of n.nat) {
		if (!local || arrivedOn?.network === nat.network || p.proto !== 'tcp') continue;
		const f = nat.forwards.find((x) => x.proto === 'tcp' && x.hostPort === p.dport);
		if (f)
			return {
				dst: f.guestAddress,
				dport: f.guestPort,
				why: `port forward ${f.hostPort} → ${f.guest} ${f.guestAddress}:${f.guestPort}`,
			};
	}
	const fip = n.floating.find((f) => f.address === p.dst);
	if (fip)
		return {
			dst: fip.privateAddress,
			dport: p.dport,
			why: `floating IP ${fip.address} → ${fip.node} ${fip.privateAddress}`,
		};
	// Docker's DNAT skips packets coming from its own bridges (docker-proxy answers those instead) —
	// but for an internal network it has no such exception: the DNAT applies, and isolation drops it.
	if (fromDockerBridge(v, arrivedOn)) return undefined;
	return publish(v, n, p, local);
}

function outputDnat(v: View, n: PlanNode, p: Packet): { dst: string; dport?: number; why: string } | undefined {
	if (!ownsAddress(v, n, p.dst) || p.proto !== 'tcp') return undefined;
	for (const nat of n.nat) {
		const f = nat.forwards.find((x) => x.proto === 'tcp' && x.hostPort === p.dport);
		if (f)
			return {
				dst: f.guestAddress,
				dport: f.guestPort,
				why: `port forward ${f.hostPort} → ${f.guest} ${f.guestAddress}:${f.guestPort}`,
			};
	}
	return publish(v, n, p, true);
}

/** Docker's published ports: the engine's node DNATs its own addresses' host port to the container. */
function publish(v: View, n: PlanNode, p: Packet, local: boolean) {
	if (!local || p.proto !== 'tcp') return undefined;
	const pub = publishedBy(v, n, p.dport);
	return (
		pub && {
			dst: pub.address,
			dport: pub.port,
			why: `published port ${p.dport} → ${pub.container.name} ${pub.address}:${pub.port}`,
		}
	);
}

/** Arrived from one of Docker's bridges that has its `-i BRIDGE -j RETURN` rule (every one but internal networks). */
const fromDockerBridge = (v: View, iface: PlanInterface | undefined) =>
	dockerNetwork(v, iface) && !network(v, iface!.network).internal;

/**
 * The running container a Docker engine node publishes `port` for. Docker maps no port of a container on an internal
 * network.
 */
function publishedBy(v: View, n: PlanNode, port: number | undefined) {
	if (!n.engine) return undefined;
	for (const c of v.plan.nodes) {
		if (c.container?.engine !== n.name || v.absent.has(c.name) || network(v, c.interfaces[0].network).internal)
			continue;
		const pub = c.container.publish.find((x) => x.proto === 'tcp' && x.hostPort === port);
		if (pub) return { container: c, address: c.interfaces[0].address, port: pub.containerPort };
	}
	return undefined;
}

function forwardFilter(
	v: View,
	n: PlanNode,
	from: PlanInterface | undefined,
	to: PlanInterface,
	dnated: boolean,
): string | undefined {
	const engine = n.nat.find((e) => e.network === to.network);
	if (engine && !dnated)
		return `${n.name}'s NAT engine lets nothing into ${engine.subnet} but replies and port forwards`;
	if (n.engine && from && from.network !== to.network) {
		const [a, b] = [network(v, from.network), network(v, to.network)];
		if (a.internal || b.internal) return `${(a.internal ? a : b).name} is an internal Docker network: no way in or out`;
		if (a.engine && b.engine) return `Docker isolates its networks: ${a.name} cannot reach ${b.name}`;
	}
	return undefined;
}

function postrouting(
	v: View,
	n: PlanNode,
	p: Packet,
	out: PlanInterface,
	dnated: boolean,
): { src: string; why: string } | undefined {
	const address = out.address;
	for (const nat of n.nat) {
		if (out.network === nat.network && dnated)
			return { src: nat.gateway, why: `forwarded into the NAT: source becomes ${nat.gateway}` };
		if (out.network !== nat.network && inSubnet(nat.subnet, p.src))
			return { src: address, why: `NAT engine: source ${p.src} becomes ${address}` };
	}
	const fip = n.floating.find((f) => f.privateAddress === p.src);
	if (fip) return { src: fip.address, why: `floating IP: source ${p.src} becomes ${fip.address}` };
	for (const m of n.masquerade) {
		const leaves = m.outNetwork ? out.network === m.outNetwork : out.network !== m.notOut;
		if (leaves && inSubnet(m.from, p.src)) return { src: address, why: `SNAT: source ${p.src} becomes ${address}` };
	}
	if (n.engine && !dockerNetwork(v, out)) {
		const net = v.plan.networks.find((x) => x.engine === n.name && !x.internal && inSubnet(x.subnet, p.src));
		if (net) return { src: address, why: `Docker masquerade: source ${p.src} becomes ${address}` };
	}
	return undefined;
}

/** A reply passing a node that translated the request gets the original addresses back. */
function unNat(n: PlanNode, p: Packet, translations: Translation[], note: (t: string) => void): Packet {
	let q = p;
	for (const t of translations.filter((x) => x.node === n.name)) {
		if (t.kind === 'snat' && q.dst === t.after) {
			q = { ...q, dst: t.before };
			note(`reply: destination back to ${t.before}`);
		}
		if (t.kind === 'dnat' && q.src === t.after) {
			q = { ...q, src: t.before };
			note(`reply: source back to ${t.before}`);
		}
	}
	return q;
}

// Security groups as labcheck enforces them: replies to TCP the node opened pass; every other packet,
// ICMP replies included, needs a rule.
function securityGroup(n: PlanNode, p: Packet, reply: boolean): string | undefined {
	if (!n.security) return undefined;
	if (reply && p.proto === 'tcp') return undefined;
	const ok = n.security.some(
		(r) =>
			(r.proto === 'any' || r.proto === p.proto) &&
			(!r.ports || (p.dport !== undefined && p.dport >= r.ports[0] && p.dport <= r.ports[1])) &&
			inSubnet(r.from, p.src),
	);
	if (ok) return undefined;
	return reply
		? `the ${p.proto} reply from ${p.src} enters ${n.name}, whose security group has no ${p.proto} rule`
		: `${n.name}'s security group allows no ${p.proto}${p.dport ? `/${p.dport}` : ''} ingress from ${p.src}`;
}
