// A packet's way through the plan, hop by hop — routing, NAT engines, port forwards, Docker's NAT
// and isolation, routers' SNAT and floating IPs, security groups — then its reply's way back through
// the same translations (conntrack). No I/O: the model that predicts what the lab will measure.
import { contains, parseCidr } from '../net/ipv4.js';
import { type Chain, type Match, type Proto, type Rule, rulesOf, sentence, type Table } from '../plan/rules.js';
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

export type { Proto };
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
	/** The rule's sentence, as the hop's note says it. */
	why: string;
	kind: 'snat' | 'dnat';
	before: string;
	after: string;
	beforePort?: number;
	afterPort?: number;
};

/** How a probe ends in the model, with the status the real probe would report. */
export interface Trace {
	status: 'ok' | 'refused' | 'no-route' | 'unreachable' | 'filtered';
	hops: Hop[];
	/** The node and the reason where the packet (or its reply) died; undefined when it got through. */
	stop?: Stop;
	/** The source address the target saw. */
	seenFrom?: string;
	/** What rewrote the request on its way (port forwards, published ports, SNAT, floating IPs, docker-proxy). */
	rewrites: string[];
	/** The node the request was delivered to (after any DNAT). */
	reached?: string;
}

const MAX_HOPS = 16;

/** Where and why a packet (or its reply) died: the rule that dropped it, and what would change that. */
export interface Stop {
	node: string;
	why: string;
	rule?: string;
	/** What would change the outcome (the rule's hint). */
	hint?: string;
	/** The cause behind a routing failure: the destination is hidden behind a NAT (that rule's hint). */
	cause?: string;
}

interface Walk {
	delivered?: { node: PlanNode; packet: Packet; arrivedOn?: PlanInterface };
	status?: Trace['status'];
	stop?: Stop;
}

const listening = (n: PlanNode, proto: Proto, port: number | undefined, address?: string) =>
	n.services.some(
		(s) =>
			!s.stopped &&
			s.port === port &&
			(s.proto ?? 'tcp') === proto &&
			(s.address === undefined || address === undefined || s.address === address),
	);

export function simulate(v: View, from: string, packet: Packet): Trace {
	const hops: Hop[] = [];
	const translations: Translation[] = [];
	const end = (status: Trace['status'], more: Partial<Trace> = {}): Trace => ({
		status,
		hops,
		// "host: port forward …", but not "router: router hides …".
		rewrites: translations.map((t) =>
			t.why.startsWith(`${t.node} `) || t.why.startsWith(`${t.node}'s `) ? t.why : `${t.node}: ${t.why}`,
		),
		...more,
	});
	const there = walk(v, nodeOf(v, from), packet, hops, translations, false);
	if (!there.delivered) {
		const stop =
			there.stop && !there.stop.rule ? { ...there.stop, cause: hidden(v, nodeOf(v, from), packet.dst) } : there.stop;
		return end(there.status!, { stop });
	}
	const target = there.delivered.node;
	const seen = there.delivered.packet;
	const reached = target.name;
	// Docker's userland proxy: a container reaching its engine's own address on a published port is not
	// DNATed (Docker skips packets from its bridges) — docker-proxy, listening on the engine, accepts and
	// relays from the container network's gateway, across Docker's network isolation.
	const proxied =
		packet.proto !== 'icmp' && fromDockerBridge(v, there.delivered.arrivedOn)
			? publishedBy(v, target, packet.proto, seen.dport)
			: undefined;
	if (proxied) {
		const relay = `${proxied.container.name} ${proxied.address}:${proxied.port}`;
		const why = `docker-proxy accepts on port ${seen.dport} and relays to ${relay}`;
		hops.push({ node: target.name, note: why });
		translations.push({ node: target.name, why, kind: 'dnat', before: seen.dst, after: proxied.address });
		const gateway = v.plan.networks.find((x) => x.name === proxied.container.interfaces[0].network)?.gateway;
		// docker-proxy answers UDP from its socket on 0.0.0.0: the kernel picks the source on the way back to the
		// container, the bridge's gateway — not the address the client asked, so a connected client socket (labcheck's
		// udp and dns probes, most resolvers) drops the answer.
		if (packet.proto === 'udp') {
			const why =
				`docker-proxy relays UDP, but its answer leaves from ${gateway}, not ${seen.dst}: ` +
				`${from}'s socket, connected to ${seen.dst}, drops it`;
			return end('filtered', { seenFrom: seen.src, stop: { node: target.name, why } });
		}
		if (packet.app && !listening(proxied.container, packet.proto, proxied.port)) {
			const why = `docker-proxy's relay finds nothing listening on ${proxied.address}:${proxied.port}, and closes it`;
			return end('refused', { seenFrom: seen.src, stop: { node: proxied.container.name, why } });
		}
		return end('ok', { seenFrom: packet.app ? gateway : seen.src, reached: proxied.container.name });
	}
	if (packet.proto !== 'icmp' && !listening(target, packet.proto, seen.dport, seen.dst)) {
		const how = packet.proto === 'tcp' ? 'it answers with a TCP reset' : 'it answers ICMP port unreachable';
		const why = `nothing listens on ${seen.dst}:${seen.dport}${packet.proto === 'udp' ? '/udp' : ''}: ${how}`;
		return end('refused', { seenFrom: seen.src, stop: { node: target.name, why } });
	}
	hops.push({ node: target.name, note: `replies to ${seen.src}` });
	const reply: Packet = { src: seen.dst, dst: seen.src, proto: packet.proto, app: packet.app };
	const onRequestPath = new Set(hops.map((h) => h.node));
	const back = walk(v, target, reply, hops, translations, true, onRequestPath);
	if (!back.delivered) return end('filtered', { seenFrom: seen.src, stop: back.stop, reached });
	return end('ok', { seenFrom: seen.src, reached });
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
	for (let hop = 0; hop < MAX_HOPS; hop++) {
		const note = (text: string) => hops.push({ node: n.name, note: text });
		const at = (out?: string, dnat = false): At => ({
			p,
			in: local ? undefined : arrivedOn?.network,
			out,
			reply,
			dnat,
		});
		if (reply) p = unNat(n, p, translations, note);
		// A request is DNATed where it arrives (PREROUTING), or where it starts (OUTPUT). Conntrack is per node.
		const d = reply ? undefined : dnat(v, n, p, arrivedOn, local);
		if (d) {
			translations.push({
				node: n.name,
				why: d.why,
				kind: 'dnat',
				before: p.dst,
				after: d.dst,
				beforePort: p.dport,
				afterPort: d.dport,
			});
			note(d.why);
			p = { ...p, dst: d.dst, dport: d.dport };
		}
		if (ownsAddress(v, n, p.dst)) {
			const rule = decide(v, n, 'filter', 'INPUT', at());
			if (rule?.action.type === 'drop') return { status: 'filtered', stop: stopBy(n, rule, p, reply) };
			return { delivered: { node: n, packet: p, arrivedOn } };
		}
		if (!local && !n.forwarding && !n.engine)
			return {
				status: 'filtered',
				stop: { node: n.name, why: `${n.name} does not forward packets that are not for it, and drops them` },
			};
		const route = lookup(v, n, p.dst, local && !reply && !d && n.nat.length > 0);
		if (!route) return { status: local ? 'no-route' : 'unreachable', stop: noRoute(n, p.dst, start, reply, local) };
		if (!local) {
			const rule = decide(v, n, 'filter', 'FORWARD', at(route.iface.network, Boolean(d)));
			if (rule?.action.type === 'drop') return { status: 'filtered', stop: stopBy(n, rule, p, reply) };
		}
		if (!reply) {
			const s = postrouting(v, n, p, route.iface, Boolean(d));
			if (s) {
				translations.push({ node: n.name, why: s.why, kind: 'snat', before: p.src, after: s.src });
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
			return { status: local ? 'filtered' : 'unreachable', stop: noAnswer(v, n, route.iface.network, next) };
		arrivedOn = upInterfaces(v, neighbour).find((i) => i.network === route.iface.network);
		n = neighbour;
		local = false;
	}
	return { status: 'unreachable', stop: { node: n.name, why: 'routing loop' } };
}

/** Where a route is missing: the node, the way it was on, its static routes. */
function noRoute(n: PlanNode, dst: string, start: PlanNode, reply: boolean, local: boolean): Stop {
	const routes = n.routes.map((r) => `${r.to} via ${r.via}`).join(', ') || 'none';
	if (reply)
		return {
			node: n.name,
			why: `${n.name} has no route back to ${dst} (its static routes: ${routes}): the reply is lost`,
		};
	const who = local ? n.name : `${n.name}, on the way from ${start.name},`;
	return { node: n.name, why: `${who} has no route to ${dst} (its static routes: ${routes})` };
}

/** Nothing answers ARP for `address`: its owner may be a container that is not running now. */
function noAnswer(v: View, n: PlanNode, net: string, address: string): Stop {
	const owner = v.plan.nodes.find((x) => v.absent.has(x.name) && x.interfaces.some((i) => i.address === address));
	const why = owner
		? `${owner.name} is not running at this step (stopped, removed or not started yet): ` +
			`nothing on ${net} answers ARP for ${address}`
		: `nothing on ${net} answers ARP for ${address}`;
	return { node: n.name, why };
}

/**
 * The hint of the rule that hides `address` behind a NAT (a NAT engine, a router's SNAT, Docker) from `from`, outside
 * it, if one does.
 */
function hidden(v: View, from: PlanNode, address: string): string | undefined {
	if (!v.plan.nodes.some((x) => !v.absent.has(x.name) && x.interfaces.some((i) => i.address === address)))
		return undefined;
	for (const n of v.plan.nodes) {
		for (const rule of rulesOf(v, n)) {
			if (!rule.hides || !rule.hint || !rule.match.src || !inSubnet(rule.match.src, address)) continue;
			// From inside the hidden subnet, or (a router's SNAT) from one of the router's own networks, it is not hidden.
			if (n !== from && from.interfaces.some((i) => inSubnet(rule.match.src!, i.address))) continue;
			const networks = new Set(n.interfaces.map((i) => i.network));
			if (rule.hides === 'beyond' && from.interfaces.some((i) => networks.has(i.network))) continue;
			return sentence(rule.hint, { proto: 'ip', src: '', dst: address });
		}
	}
	return undefined;
}

const inSubnet = (subnet: string, address: string) => contains(parseCidr(subnet), address);

/** What a rule's match sees of a packet at one hook of one node. */
interface At {
	p: Packet;
	/** The network the packet came in on; undefined for the node's own packets. */
	in?: string;
	out?: string;
	reply: boolean;
	/** This node DNATed the packet's connection. */
	dnat: boolean;
}

function matches(v: View, n: PlanNode, m: Match, at: At): boolean {
	const { p } = at;
	if (m.proto && m.proto !== p.proto) return false;
	if (m.dport && (p.dport === undefined || p.dport < m.dport[0] || p.dport > m.dport[1])) return false;
	if (m.src && !(m.src.includes('/') ? inSubnet(m.src, p.src) : m.src === p.src)) return false;
	if (m.dst && !(m.dst.includes('/') ? inSubnet(m.dst, p.dst) : m.dst === p.dst)) return false;
	if (m.local !== undefined && m.local !== ownsAddress(v, n, p.dst)) return false;
	if (m.self && at.in !== undefined) return false;
	if (m.in && at.in !== m.in) return false;
	if (m.notIn && at.in === m.notIn) return false;
	if (m.out && at.out !== m.out) return false;
	if (m.notOut && at.out === m.notOut) return false;
	switch (m.state) {
		case 'new':
			return !at.reply;
		case 'reply':
			return at.reply;
		case 'dnat':
			return at.dnat;
		case 'new-not-dnat':
			return !at.reply && !at.dnat;
		default:
			return true;
	}
}

/** The first rule of `table`/`chain` on `n` that decides this packet (marks only steer routing: skipped). */
function decide(v: View, n: PlanNode, table: Table, chain: Chain, at: At): Rule | undefined {
	for (const rule of rulesOf(v, n)) {
		if (
			rule.table !== table ||
			rule.chain !== chain ||
			!['accept', 'drop', 'dnat', 'snat', 'masquerade'].includes(rule.action.type)
		)
			continue;
		if (matches(v, n, rule.match, at)) return rule;
	}
	return undefined;
}

const stopBy = (n: PlanNode, rule: Rule, p: Packet, reply = false): Stop => ({
	node: n.name,
	why: sentence(rule.why, { ...p, reply }),
	rule: rule.id,
	hint: rule.hint && sentence(rule.hint, p),
});

/** DNAT of a request where it arrives (PREROUTING) or where it starts (OUTPUT). */
function dnat(v: View, n: PlanNode, p: Packet, arrivedOn: PlanInterface | undefined, local: boolean) {
	const rule = decide(v, n, 'nat', local ? 'OUTPUT' : 'PREROUTING', {
		p,
		in: local ? undefined : arrivedOn?.network,
		reply: false,
		dnat: false,
	});
	if (rule?.action.type !== 'dnat') return undefined;
	return { dst: rule.action.to, dport: rule.action.port ?? p.dport, why: sentence(rule.why, p) };
}

/** Source NAT of a packet leaving on `out` (POSTROUTING): the address it takes, if any. */
function postrouting(v: View, n: PlanNode, p: Packet, out: PlanInterface, dnated: boolean) {
	const rule = decide(v, n, 'nat', 'POSTROUTING', { p, out: out.network, reply: false, dnat: dnated });
	if (rule?.action.type === 'snat')
		return { src: rule.action.to, why: `${sentence(rule.why, p)}: source ${p.src} becomes ${rule.action.to}` };
	if (rule?.action.type === 'masquerade')
		return { src: out.address, why: `${sentence(rule.why, p)}: source ${p.src} becomes ${out.address}` };
	return undefined;
}

/** Arrived from one of Docker's bridges that has its `-i BRIDGE -j RETURN` rule (every one but internal networks). */
const fromDockerBridge = (v: View, iface: PlanInterface | undefined) =>
	dockerNetwork(v, iface) && !network(v, iface!.network).internal;

/**
 * The running container a Docker engine node publishes `port` for. Docker maps no port of a container on an internal
 * network.
 */
function publishedBy(v: View, n: PlanNode, proto: Proto, port: number | undefined) {
	if (!n.engine) return undefined;
	for (const c of v.plan.nodes) {
		if (c.container?.engine !== n.name || v.absent.has(c.name) || network(v, c.interfaces[0].network).internal)
			continue;
		const pub = c.container.publish.find((x) => x.proto === proto && x.hostPort === port);
		if (pub) return { container: c, address: c.interfaces[0].address, port: pub.containerPort };
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
