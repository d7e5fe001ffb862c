// A node's packet rules as iptables-restore input — NAT engines, router SNAT and floating IPs,
// security groups — plus the policy routing its NAT engines need.
//
// VirtualBox's NAT engine lives inside VirtualBox, not in the host's IP stack: the host itself has
// no route to 10.0.2.0/24, only the guest's own connections and the port forwards cross it.
// We model that with the NAT link's route in table 100, reached by forwarded packets and by
// packets of connections the guest opened or a forward created (conntrack mark 1); the host's own
// new packets to 10.0.2.15 follow its default route and are lost upstream, as observed — and a host
// with no default route is refused at once (no route), never let in.
import { type Action, type Chain, type Match, nodeRules, type Rule, sentence, type Table } from '../../plan/rules.js';
import type { PlanNode } from '../../plan/types.js';

export const NAT_TABLE = 100;
const MARK = '0x1';

/** Nodes whose firewall labcheck owns (a Docker engine's node has Docker's rules, which labcheck leaves alone). */
export const managed = (node: PlanNode) => !node.engine && !node.container;

export function natRules(node: PlanNode): { iptables?: string; ip: string[] } {
	const ip = policyRouting(node);
	const rules = nodeRules(node);
	return rules.length === 0 ? { ip } : { iptables: render(node, rules), ip };
}

/** The node's whole rule set, every table written even when empty, to replace what it had (a step's change). */
export const fullRules = (node: PlanNode): string => render(node, nodeRules(node), true);

/**
 * Kernel settings of a node, as /proc/sys paths. A NAT host answers its guest with the guest's mark
 * (see the policy routing above). A router sends no ICMP redirects: a redirect would make a host
 * route around the scenario's routes (and reads as a failed ping), while the packet is forwarded anyway.
 */
export function sysctls(node: PlanNode): Record<string, string> {
	const settings: Record<string, string> = {};
	if (node.forwarding) {
		settings['net/ipv4/ip_forward'] = '1';
		for (const dev of ['all', 'default', ...node.interfaces.map((i) => i.ifname)])
			settings[`net/ipv4/conf/${dev}/send_redirects`] = '0';
	}
	if (node.nat.length > 0)
		Object.assign(settings, { 'net/ipv4/fwmark_reflect': '1', 'net/ipv4/tcp_fwmark_accept': '1' });
	// The node's listening ports are never handed out as a connection's source port (the ephemeral
	// range 32768-60999 holds 50000-50004): a readiness check's socket would otherwise take one first.
	const ports = [
		...new Set([...node.services.map((s) => s.port), ...node.nat.flatMap((e) => e.forwards.map((f) => f.hostPort))]),
	].sort((a, b) => a - b);
	if (ports.length > 0) settings['net/ipv4/ip_local_reserved_ports'] = ports.join(',');
	return settings;
}

// The NAT link's route lives in table 100, reached by marked packets (the guest's and its
// connections'); the host's own new packets find the main table, then nothing.
function policyRouting(node: PlanNode): string[] {
	const ip: string[] = [];
	for (const engine of node.nat) {
		const dev = node.interfaces.find((i) => i.network === engine.network)!.ifname;
		ip.push(
			`route del ${engine.subnet} dev ${dev}`,
			`route add ${engine.subnet} dev ${dev} src ${engine.gateway} table ${NAT_TABLE}`,
		);
	}
	if (node.nat.length === 0) return ip;
	return [
		...ip,
		`rule add fwmark ${MARK} lookup ${NAT_TABLE} pref 100`,
		'rule add iif lo lookup main pref 101',
		// The resolver's answers (a socket bound to 10.0.2.3) go back through the NAT link.
		...node.nat.filter((e) => e.resolver).map((e) => `rule add from ${e.resolver} lookup ${NAT_TABLE} pref 99`),
		// So do the answers of the node's UDP services to its guests: a UDP reply is routed before conntrack can give it
		// the guest's mark (TCP sockets take it from the SYN, tcp_fwmark_accept), and without a default route it would
		// find none. Rules match the service's source port (its answers), as VirtualBox relays them.
		...node.nat.flatMap((e) =>
			node.services
				.filter((x) => x.proto === 'udp' && !x.address)
				.map((x) => `rule add iif lo to ${e.subnet} ipproto udp sport ${x.port} lookup ${NAT_TABLE} pref 98`),
		),
		// VirtualBox's NAT network is not the host's: without a default route of its own, the host has no route there.
		...node.nat.map((engine) => `rule add iif lo to ${engine.subnet} unreachable pref 102`),
		`rule add lookup ${NAT_TABLE} pref 103`,
	];
}

const CHAINS: Record<Table, Chain[]> = {
	nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
	mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
	filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const STATES: Record<NonNullable<Match['state']>, string> = {
	new: '-m conntrack --ctstate NEW',
	reply: '-m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY',
	dnat: '-m conntrack --ctstate DNAT',
	'new-not-dnat': '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT',
};

function target(a: Action): string {
	switch (a.type) {
		case 'accept':
			return '-j ACCEPT';
		case 'drop':
			return '-j DROP';
		case 'dnat':
			return `-j DNAT --to-destination ${a.to}${a.port === undefined ? '' : `:${a.port}`}`;
		case 'snat':
			return `-j SNAT --to-source ${a.to}`;
		case 'masquerade':
			return '-j MASQUERADE';
		case 'mark':
			return `-j MARK --set-mark ${MARK}`;
		case 'save-mark':
			return `-j CONNMARK --set-mark ${MARK}`;
		case 'restore-mark':
			return '-j CONNMARK --restore-mark';
	}
}

/** One rule as iptables-restore writes it; its comment carries the rule's id and sentence (at most 255 bytes). */
export function renderRule(node: PlanNode, rule: Rule): string {
	const ifname = (network: string) => node.interfaces.find((i) => i.network === network)!.ifname;
	const m = rule.match;
	const [low, high] = m.dport ?? [];
	const comment = `labcheck:${rule.id} ${sentence(rule.why)}`.replace(/"/g, "'");
	return [
		`-A ${rule.chain}`,
		m.proto && `-p ${m.proto}`,
		m.dport && `--dport ${low === high ? low : `${low}:${high}`}`,
		m.src && `-s ${m.src}`,
		m.dst && `-d ${m.dst}`,
		m.self && '-i lo',
		m.in && `-i ${ifname(m.in)}`,
		m.notIn && `! -i ${ifname(m.notIn)}`,
		m.out && `-o ${ifname(m.out)}`,
		m.notOut && `! -o ${ifname(m.notOut)}`,
		m.local && '-m addrtype --dst-type LOCAL',
		m.state && STATES[m.state],
		`-m comment --comment "${Buffer.from(comment)
			.subarray(0, 255)
			.toString()
			.replace(/\uFFFD$/, '')}"`,
		target(rule.action),
	]
		.filter(Boolean)
		.join(' ');
}

/** iptables-restore input for `rules` (labcheck's only: Docker writes its own). `all`: every table, even empty. */
function render(node: PlanNode, rules: Rule[], all = false): string {
	let text = '';
	for (const [table, chains] of Object.entries(CHAINS) as Array<[Table, Chain[]]>) {
		const lines = rules.filter((r) => r.by === 'labcheck' && r.table === table).map((r) => renderRule(node, r));
		if (lines.length === 0 && !all) continue;
		const policies = chains.map((c) => `:${c} ACCEPT [0:0]\n`).join('');
		text += `*${table}\n${policies}${lines.map((l) => `${l}\n`).join('')}COMMIT\n`;
	}
	return text;
}
