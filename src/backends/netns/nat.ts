// A node's packet rules as iptables-restore input plus the policy routing its NAT engines need.
//
// VirtualBox's NAT engine lives inside VirtualBox, not in the host's IP stack: the host itself has
// no route to 10.0.2.0/24, only the guest's own connections and the port forwards cross it.
// We model that with the NAT link's route in table 100, reached by forwarded packets and by
// packets of connections the guest opened or a forward created (conntrack mark 1); the host's own
// new packets to 10.0.2.15 follow its default route and are lost upstream, as observed.
import type { PlanNode } from '../../plan/types.js';

export const NAT_TABLE = 100;
const MARK = '0x1';

const comment = (text: string) => `-m comment --comment "labcheck: ${text.replace(/"/g, "'")}"`;

export function natRules(node: PlanNode): { iptables?: string; ip: string[] } {
	if (node.nat.length === 0 && node.masquerade.length === 0) return { ip: [] };
	const ifname = (network: string) => node.interfaces.find((i) => i.network === network)!.ifname;
	const nat: string[] = [];
	const mangle: string[] = [];
	const filter: string[] = [];
	const ip: string[] = [];
	for (const engine of node.nat) {
		const dev = ifname(engine.network);
		const why = `${engine.guest}'s NAT engine`;
		ip.push(
			`route del ${engine.subnet} dev ${dev}`,
			`route add ${engine.subnet} dev ${dev} src ${engine.gateway} table ${NAT_TABLE}`,
		);
		mangle.push(`-A PREROUTING -i ${dev} -m conntrack --ctstate NEW ${comment(`${engine.guest} opens a connection`)} -j CONNMARK --set-mark ${MARK}`);
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
		filter.push(`-A FORWARD -o ${dev} -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT ${comment(`${why}: only port forwards enter`)} -j DROP`);
	}
	if (node.nat.length > 0) {
		mangle.unshift(`-A OUTPUT -j CONNMARK --restore-mark`);
		ip.push(
			`rule add fwmark ${MARK} lookup ${NAT_TABLE} pref 100`,
			`rule add iif lo lookup main pref 101`,
			`rule add lookup ${NAT_TABLE} pref 102`,
		);
	}
	for (const m of node.masquerade) {
		nat.push(`-A POSTROUTING -s ${m.from} -o ${ifname(m.outNetwork)} ${comment(`${node.name} hides ${m.from}`)} -j MASQUERADE`);
	}
	const table = (name: string, chains: string[], rules: string[]) =>
		rules.length === 0 ? '' : `*${name}\n${chains.map((c) => `:${c} ACCEPT [0:0]`).join('\n')}\n${rules.join('\n')}\nCOMMIT\n`;
	const iptables = table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], nat)
		+ table('mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], mangle)
		+ table('filter', ['INPUT', 'FORWARD', 'OUTPUT'], filter);
	return { iptables, ip };
}
