// How each node treats a packet, written once, as data: NAT engines and their port forwards, router
// SNAT and floating IPs, security groups, Docker's published ports, NAT and isolation. The netns
// backend renders these rules as iptables (src/backends/netns/firewall.ts), the model evaluates them
// hop by hop (src/model/simulate.ts), and reports quote their `why` and `hint`.
//
// A rule reads like the iptables rule it becomes: a table and chain, a match, an action. Matches name
// networks, not interfaces; the renderer knows the node's interface names. Docker's rules are
// written by Docker itself: the model evaluates them, labcheck never installs them.
import type { Plan, PlanNode } from './types.js';

/** The lab at one moment: the plan, and the containers not running then. */
export interface Moment {
	plan: Plan;
	absent: ReadonlySet<string>;
}

export type Table = 'nat' | 'mangle' | 'filter';
export type Chain = 'PREROUTING' | 'OUTPUT' | 'FORWARD' | 'INPUT' | 'POSTROUTING';
export type Proto = 'tcp' | 'udp' | 'icmp';

export interface Match {
	proto?: Proto;
	/** Source and destination: an address or a CIDR. */
	src?: string;
	dst?: string;
	/** The destination is one of the node's own addresses (`-m addrtype --dst-type LOCAL`). */
	local?: boolean;
	dport?: [number, number];
	/** The network the packet came in on, or did not (`-i` / `! -i`). */
	in?: string;
	notIn?: string;
	/** The node's own packets (`-i lo`). */
	self?: boolean;
	/** The network the packet leaves on, or does not (`-o` / `! -o`). */
	out?: string;
	notOut?: string;
	/**
	 * Conntrack: `new`, a connection's first packet; `reply`, a packet answering a connection; `dnat`, a
	 * connection this node's DNAT rewrote; `new-not-dnat`, a first packet no DNAT of this node rewrote.
	 */
	state?: 'new' | 'reply' | 'dnat' | 'new-not-dnat';
}

export type Action =
	| { type: 'accept' }
	| { type: 'drop' }
	| { type: 'dnat'; to: string; port?: number }
	| { type: 'snat'; to: string }
	| { type: 'masquerade' }
	/** Policy-routing plumbing of a NAT engine: the model follows the routing these marks select. */
	| { type: 'mark' }
	| { type: 'save-mark' }
	| { type: 'restore-mark' };

export interface Rule {
	/** Unique in the node; rendered into the iptables rule's comment, so its counters map back here. */
	id: string;
	table: Table;
	chain: Chain;
	match: Match;
	action: Action;
	/** What the rule does, in the lab's terms. May hold {what}, {from} and {dst}: see `sentence`. */
	why: string;
	/** What to change to get another outcome, or the cause behind an unreachable address it hides. */
	hint?: string;
	/**
	 * A source NAT that keeps its subnet (`match.src`) private: its hint is the cause when a packet from elsewhere
	 * finds no way there. `always`: nothing outside gets in (a NAT engine, Docker); `beyond`: nodes on the router's own
	 * networks can still route there, the rest of the world cannot (a router's SNAT).
	 */
	hides?: 'always' | 'beyond';
	/** Who installs it: labcheck, or the node's Docker engine. */
	by: 'labcheck' | 'docker';
}

/** A NAT engine's resolver, as VirtualBox's: the third address of the NAT network (10.0.2.3). */
export const NAT_RESOLVER_HOST = 3;

/**
 * A rule's sentence for one packet — {what} → "tcp/22" or "icmp reply", {rule} → "tcp/22" (as a security group
 * rule writes it), {from} → " from 10.1.5.22", {dst} → its destination — or in general (rendered into iptables
 * comments).
 */
export function sentence(
	text: string,
	packet?: { proto: string; dport?: number; src: string; dst: string; reply?: boolean },
): string {
	if (!packet)
		return text
			.replace(/\{what\}/g, 'other')
			.replace(/\{rule\}/g, 'PROTO/PORT')
			.replace(/\{from\}/g, '')
			.replace(/\{dst\}/g, 'the address');
	const rule = `${packet.proto}${packet.dport !== undefined && packet.proto !== 'icmp' ? `/${packet.dport}` : ''}`;
	return text
		.replace(/\{what\}/g, `${rule}${packet.reply ? ' reply' : ''}`)
		.replace(/\{rule\}/g, rule)
		.replace(/\{from\}/g, packet.src ? ` from ${packet.src}` : '')
		.replace(/\{dst\}/g, packet.dst);
}

const cache = new WeakMap<PlanNode, Rule[]>();

/** The rules labcheck installs on `node`, in order. */
export function nodeRules(node: PlanNode): Rule[] {
	let rules = cache.get(node);
	if (!rules) {
		rules = labcheckRules(node);
		cache.set(node, rules);
	}
	return rules;
}

/** Every rule of `node` at this moment of the lab: labcheck's and its Docker engine's. */
export function rulesOf(v: Moment, node: PlanNode): Rule[] {
	return node.engine ? [...nodeRules(node), ...dockerRules(v, node)] : nodeRules(node);
}

function labcheckRules(node: PlanNode): Rule[] {
	const rules: Rule[] = [];
	const add = (id: string, table: Table, chain: Chain, match: Match, action: Action, why: string, hint?: string) =>
		rules.push({ id: `${node.name}/${id}`, table, chain, match, action, why, hint, by: 'labcheck' });
	const hides = (how: Rule['hides']) => {
		rules[rules.length - 1].hides = how;
	};
	if (node.nat.length > 0) add('nat/restore-mark', 'mangle', 'OUTPUT', {}, { type: 'restore-mark' }, 'NAT routing');
	for (const engine of node.nat) {
		const id = `nat/${engine.guest}`;
		const net = engine.network;
		const forwards = engine.forwards.map((f) => `${forwardName(f)} → ${f.guest}:${f.guestPort}`).join(', ');
		add(
			`${id}/connmark`,
			'mangle',
			'PREROUTING',
			{ in: net, state: 'new' },
			{ type: 'save-mark' },
			`${engine.guest} opens a connection`,
		);
		// The host's answers to the guest (echo replies, SYN-ACKs, resets) carry this mark from their first route
		// lookup on (fwmark_reflect, tcp_fwmark_accept): they find the NAT link, the host's own new packets do not.
		add(
			`${id}/mark`,
			'mangle',
			'PREROUTING',
			{ in: net },
			{ type: 'mark' },
			`${engine.guest}'s packets: the host answers them through the NAT link`,
		);
		for (const f of engine.forwards) {
			const match: Match = { proto: f.proto, local: true, dport: [f.hostPort, f.hostPort] };
			const to: Action = { type: 'dnat', to: f.guestAddress, port: f.guestPort };
			const why = `port forward ${forwardName(f)} → ${f.guest} ${f.guestAddress}:${f.guestPort}`;
			const fid = `${id}/forward-${f.proto}-${f.hostPort}`;
			add(fid, 'nat', 'PREROUTING', { ...match, notIn: net }, to, why);
			add(`${fid}/out`, 'nat', 'OUTPUT', match, to, why);
			add(`${fid}/mark`, 'mangle', 'OUTPUT', match, { type: 'mark' }, why);
		}
		add(
			`${id}/forwarded-source`,
			'nat',
			'POSTROUTING',
			{ out: net, state: 'dnat' },
			{ type: 'snat', to: engine.gateway },
			`${node.name}'s NAT engine, for a port forward`,
		);
		add(
			`${id}/hide`,
			'nat',
			'POSTROUTING',
			{ src: engine.subnet, notOut: net },
			{ type: 'masquerade' },
			`${node.name}'s NAT engine hides ${engine.subnet}`,
			`{dst} is behind ${node.name}'s NAT: it lives inside ${node.name}'s NAT engine (VirtualBox NAT), not on an ` +
				`interface of ${node.name}, so nothing outside it — ${node.name} included — routes to ${engine.subnet}` +
				(forwards ? `; only its port forwards lead in (${forwards})` : '; no port forward leads in'),
		);
		hides('always');
		// The one place that says a NAT engine lets in nothing but replies and port forwards.
		add(
			`${id}/inbound`,
			'filter',
			'FORWARD',
			{ out: net, state: 'new-not-dnat' },
			{ type: 'drop' },
			`${node.name}'s NAT engine lets nothing into ${engine.subnet} but replies and port forwards`,
			forwards ? `a port forward leads in: ${forwards}` : `a port forward ("forward: [HOST:GUEST]") would lead in`,
		);
		if (engine.resolver)
			add(
				`${id}/resolver`,
				'filter',
				'INPUT',
				{ dst: engine.resolver, notIn: net },
				{ type: 'drop' },
				`${engine.resolver} is ${node.name}'s NAT engine's resolver: only ${engine.guest}, inside the NAT, can ask it`,
			);
	}
	for (const f of node.floating) {
		const why = `floating IP ${f.address} → ${f.node} ${f.privateAddress}`;
		add(
			`floating/${f.address}/in`,
			'nat',
			'PREROUTING',
			{ dst: f.address },
			{ type: 'dnat', to: f.privateAddress },
			why,
		);
		add(
			`floating/${f.address}/out`,
			'nat',
			'POSTROUTING',
			{ src: f.privateAddress },
			{ type: 'snat', to: f.address },
			why,
		);
	}
	for (const [i, m] of node.snat.entries()) {
		const out: Match = m.outNetwork ? { out: m.outNetwork } : { notOut: m.notOut };
		const hint = m.notOut
			? `{dst} is a private address on ${m.notOut}, hidden behind ${node.name}'s SNAT: ` +
				'nothing outside routes to it — ' +
				'reach it through a floating IP'
			: undefined;
		add(
			`snat/${i}`,
			'nat',
			'POSTROUTING',
			{ src: m.from, ...out },
			{ type: 'masquerade' },
			`${node.name} hides ${m.from} (SNAT)`,
			hint,
		);
		if (hint) hides('beyond');
	}
	if (node.security) {
		// Default deny ingress. Replies to TCP and UDP the node opened pass (conntrack, reply direction); every packet
		// coming in otherwise needs a rule, so revoking a rule also cuts connections already open, as neutron does by
		// deleting their conntrack entries. ICMP needs its own rule, replies included — what the course's OpenStack
		// showed (a VM's ping got no answer until ICMP was allowed).
		add('security/self', 'filter', 'INPUT', { self: true }, { type: 'accept' }, `${node.name}'s own packets`);
		for (const proto of ['tcp', 'udp'] as const)
			add(
				`security/${proto}-replies`,
				'filter',
				'INPUT',
				{ proto, state: 'reply' },
				{ type: 'accept' },
				`security group: replies to ${proto.toUpperCase()} the node opened`,
			);
		for (const rule of node.security) {
			const match: Match = { src: rule.from };
			if (rule.proto !== 'any') match.proto = rule.proto;
			if (rule.ports) match.dport = rule.ports;
			add(
				`security/${rule.text.replace(/\s+/g, '-')}`,
				'filter',
				'INPUT',
				match,
				{ type: 'accept' },
				`security group: ${rule.text}`,
			);
		}
		add(
			'security/deny',
			'filter',
			'INPUT',
			{},
			{ type: 'drop' },
			`${node.name}'s security group allows no {what} ingress{from} (default deny ingress)`,
			'a rule such as "allow {rule} from 0.0.0.0/0" opens it (the group lets in replies to TCP and UDP the node ' +
				"opened, not ICMP: echo replies need an ICMP rule, as the course's OpenStack showed)",
		);
	}
	return rules;
}

const forwardName = (f: { proto: string; hostPort: number }) =>
	f.proto === 'tcp' ? String(f.hostPort) : `${f.hostPort}/${f.proto}`;

/**
 * Docker's rules on an engine node, as dockerd writes them: published ports (DNAT, except for packets from its own
 * bridges, which docker-proxy answers), masquerade of its networks, isolation between them, and internal networks
 * with no way in or out. Published ports exist while their container runs; internal networks publish nothing.
 */
function dockerRules(v: Moment, engine: PlanNode): Rule[] {
	const rules: Rule[] = [];
	const add = (
		id: string,
		table: Table,
		chain: Chain,
		match: Match,
		action: Action,
		why: string,
		hint?: string,
		hides?: Rule['hides'],
	) => rules.push({ id: `${engine.name}/docker/${id}`, table, chain, match, action, why, hint, hides, by: 'docker' });
	const networks = v.plan.networks.filter((n) => n.engine === engine.name);
	/** Docker's own name for a network (docker0, not vm-docker0). */
	const called = (name: string) => name.replace(`${engine.name}-`, '');
	const bridges = networks.filter((n) => !n.internal);
	for (const chain of ['PREROUTING', 'OUTPUT'] as const) {
		for (const net of bridges)
			add(
				`${chain}/from-${net.name}`,
				'nat',
				chain,
				{ in: net.name },
				{ type: 'accept' },
				`docker-proxy answers ${called(net.name)}'s containers`,
			);
		for (const c of v.plan.nodes) {
			if (c.container?.engine !== engine.name || v.absent.has(c.name)) continue;
			const net = networks.find((n) => n.name === c.interfaces[0].network);
			if (!net || net.internal) continue;
			for (const p of c.container.publish)
				add(
					`${chain}/publish-${p.proto}-${p.hostPort}`,
					'nat',
					chain,
					{ proto: p.proto, local: true, dport: [p.hostPort, p.hostPort], notIn: net.name },
					{ type: 'dnat', to: c.interfaces[0].address, port: p.containerPort },
					`${engine.name} publishes ${p.proto} ${p.hostPort} to ` +
						`${c.name} ${c.interfaces[0].address}:${p.containerPort} (docker run -p)`,
				);
		}
	}
	for (const net of networks.filter((n) => n.internal)) {
		const why = `${called(net.name)} is an internal Docker network: no way in or out`;
		add(`internal-${net.name}/out`, 'filter', 'FORWARD', { in: net.name, notOut: net.name }, { type: 'drop' }, why);
		add(`internal-${net.name}/in`, 'filter', 'FORWARD', { notIn: net.name, out: net.name }, { type: 'drop' }, why);
	}
	for (const a of bridges)
		for (const b of bridges)
			if (a !== b)
				add(
					`isolation-${a.name}-${b.name}`,
					'filter',
					'FORWARD',
					{ in: a.name, out: b.name },
					{ type: 'drop' },
					'Docker isolates its bridge networks from one another: ' +
						`${called(a.name)} cannot reach ${called(b.name)} (DOCKER-ISOLATION)`,
				);
	for (const net of bridges)
		add(
			`masquerade-${net.name}`,
			'nat',
			'POSTROUTING',
			{ src: net.subnet, notOut: net.name },
			{ type: 'masquerade' },
			`Docker masquerades ${called(net.name)} (${net.subnet}) behind ${engine.name}`,
			`{dst} is on ${engine.name}'s Docker network ${called(net.name)} (${net.subnet}): Docker's NAT hides it inside ` +
				`${engine.name}, so nothing outside routes there; publish a port (-p) to reach it`,
			'always',
		);
	return rules;
}
