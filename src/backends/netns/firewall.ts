// A node's packet rules as iptables-restore input — NAT engines, router SNAT and floating IPs,
// security groups — plus the policy routing its NAT engines need.
//
// VirtualBox's NAT engine lives inside VirtualBox, not in the host's IP stack: the host itself has
// no route to 10.0.2.0/24, only the guest's own connections and the port forwards cross it.
// We model that with the NAT link's route in table 100, reached by forwarded packets and by
// packets of connections the guest opened or a forward created (conntrack mark 1); the host's own
// new packets to 10.0.2.15 follow its default route and are lost upstream, as observed — and a host
// with no default route is refused at once (no route), never let in.
import type { PlanNode } from '../../plan/types.js';

export const NAT_TABLE = 100;
const MARK = '0x1';

const comment = (text: string) => `-m comment --comment "labcheck: ${text.replace(/"/g, "'")}"`;

/** Nodes whose firewall labcheck owns (a Docker engine's node has Docker's rules, which labcheck leaves alone). */
export const managed = (node: PlanNode) => !node.engine && !node.container;

export function natRules(node: PlanNode): { iptables?: string; ip: string[] } {
	const { ip, nat, mangle, filter } = ruleLines(node);
	if (nat.length + mangle.length + filter.length === 0) return { ip };
	return { iptables: restoreText(nat, mangle, filter), ip };
}

/** The node's whole rule set, every table written even when empty, to replace what it had (a step's change). */
export const fullRules = (node: PlanNode): string => {
	const { nat, mangle, filter } = ruleLines(node);
	return restoreText(nat, mangle, filter, true);
};

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

function ruleLines(node: PlanNode) {
	const ifname = (network: string) => node.interfaces.find((i) => i.network === network)!.ifname;
	const nat: string[] = [];
	const mangle: string[] = [];
	const filter: string[] = [];
	const ip: string[] = [];
	const unreachable: string[] = [];
	for (const engine of node.nat) {
		const dev = ifname(engine.network);
		const why = `${engine.guest}'s NAT engine`;
		ip.push(
			`route del ${engine.subnet} dev ${dev}`,
			`route add ${engine.subnet} dev ${dev} src ${engine.gateway} table ${NAT_TABLE}`,
		);
		mangle.push(
			`-A PREROUTING -i ${dev} -m conntrack --ctstate NEW ${comment(`${engine.guest} opens a connection`)} -j CONNMARK --set-mark ${MARK}`,
			// The host's answers to the guest (echo replies, SYN-ACKs, resets) carry this mark from their
			// first route lookup on (fwmark_reflect, tcp_fwmark_accept): they find the NAT link, the host's own new packets do
			// not.
			`-A PREROUTING -i ${dev} ${comment(`${engine.guest}'s packets: the host answers them through the NAT link`)} -j MARK --set-mark ${MARK}`,
		);
		// VirtualBox's NAT network is not the host's: without a default route of its own, the host has no route there at all.
		unreachable.push(`rule add iif lo to ${engine.subnet} unreachable pref 102`);
		for (const f of engine.forwards) {
			const match = `-p ${f.proto} -m addrtype --dst-type LOCAL --dport ${f.hostPort}`;
			const to = `-j DNAT --to-destination ${f.guestAddress}:${f.guestPort}`;
			const what = comment(`forward ${f.proto} ${f.hostPort} to ${f.guest}:${f.guestPort}`);
			nat.push(`-A PREROUTING ! -i ${dev} ${match} ${what} ${to}`, `-A OUTPUT ${match} ${what} ${to}`);
			mangle.push(`-A OUTPUT ${match} ${what} -j MARK --set-mark ${MARK}`);
		}
		nat.push(
			`-A POSTROUTING -o ${dev} -m conntrack --ctstate DNAT ${comment(`${why}: forwarded connections come from ${engine.gateway}`)} -j SNAT --to-source ${engine.gateway}`,
			`-A POSTROUTING -s ${engine.subnet} ! -o ${dev} ${comment(`${why}: hide ${engine.subnet}`)} -j MASQUERADE`,
		);
		filter.push(
			`-A FORWARD -o ${dev} -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT ${comment(`${why}: only port forwards enter`)} -j DROP`,
		);
	}
	if (node.nat.length > 0) {
		mangle.unshift(`-A OUTPUT -j CONNMARK --restore-mark`);
		ip.push(
			`rule add fwmark ${MARK} lookup ${NAT_TABLE} pref 100`,
			`rule add iif lo lookup main pref 101`,
			...unreachable,
			`rule add lookup ${NAT_TABLE} pref 103`,
		);
	}
	for (const f of node.floating) {
		const what = comment(`floating IP ${f.address} is ${f.node} ${f.privateAddress}`);
		nat.push(`-A PREROUTING -d ${f.address} ${what} -j DNAT --to-destination ${f.privateAddress}`);
		nat.push(`-A POSTROUTING -s ${f.privateAddress} ${what} -j SNAT --to-source ${f.address}`);
	}
	for (const m of node.masquerade) {
		const out = m.outNetwork ? `-o ${ifname(m.outNetwork)}` : `! -o ${ifname(m.notOut!)}`;
		nat.push(`-A POSTROUTING -s ${m.from} ${out} ${comment(`${node.name} hides ${m.from}`)} -j MASQUERADE`);
	}
	if (node.security) filter.push(...securityGroup(node));
	return { ip, nat, mangle, filter };
}

// Default deny ingress. Replies to TCP and UDP the node opened pass (conntrack, reply direction);
// every packet coming in otherwise needs a rule, so revoking a rule also cuts connections already
// open, as neutron does by deleting their conntrack entries. ICMP needs its own rule, replies
// included — what the course's OpenStack showed (a VM's ping got no answer until ICMP was allowed).
function securityGroup(node: PlanNode): string[] {
	const lines = [
		`-A INPUT -i lo -j ACCEPT`,
		`-A INPUT -p tcp -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY ${comment('security group: replies to TCP the node opened')} -j ACCEPT`,
		`-A INPUT -p udp -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY ${comment('security group: replies to UDP the node opened')} -j ACCEPT`,
	];
	for (const rule of node.security ?? []) {
		const proto = rule.proto === 'any' ? '' : `-p ${rule.proto}`;
		const ports = rule.ports ? `--dport ${rule.ports[0]}:${rule.ports[1]}` : '';
		lines.push(
			`-A INPUT ${proto} -s ${rule.from} ${ports} ${comment(`security group: ${rule.text}`)} -j ACCEPT`.replace(
				/\s+/g,
				' ',
			),
		);
	}
	lines.push(`-A INPUT ${comment('security group: default deny ingress')} -j DROP`);
	return lines;
}

function restoreText(nat: string[], mangle: string[], filter: string[], all = false): string {
	const table = (name: string, chains: string[], rules: string[]) =>
		rules.length === 0 && !all
			? ''
			: `*${name}\n${chains.map((c) => `:${c} ACCEPT [0:0]`).join('\n')}\n${rules.map((r) => `${r}\n`).join('')}COMMIT\n`;
	return (
		table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], nat) +
		table('mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], mangle) +
		table('filter', ['INPUT', 'FORWARD', 'OUTPUT'], filter)
	);
}
