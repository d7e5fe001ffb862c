// Namespaces, veths, bridges, addresses, routes and rules of a plan. Each LAN is a bridge in its
// own namespace; nothing is created in the root namespace, so the lab has no way to the uplink.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Plan, PlanNode } from '../../plan/types.js';
import { contains, parseCidr } from '../../net/ipv4.js';
import { natRules } from './firewall.js';
import { nodeNamespace, switchNamespace, switchPort } from './names.js';
import { runScript } from './shell.js';
import { writeNeighbours } from '../../net/arp.js';
import { NetNamespace } from '../../net/namespace.js';

// Docker networks and containers are made by the nodes' Docker engines, not here.
const bridged = (plan: Plan) => plan.networks.filter((n) => !n.engine);
const namespaced = (plan: Plan) => plan.nodes.filter((n) => !n.container);
const isDocker = (plan: Plan, network: string) => Boolean(plan.networks.find((n) => n.name === network)?.engine);

export function namespacesOf(plan: Plan, id: string): string[] {
	return [
		...bridged(plan).map((n) => switchNamespace(id, n.name)),
		...namespaced(plan).map((n) => nodeNamespace(id, n.name)),
	];
}

/**
 * Builds the whole lab with one shell — namespaces, bridges, veths, addresses, routes, NAT and
 * firewall rules — and returns once every link is up. One shell, because every process costs
 * milliseconds to start here and a spawn from Node tens; the script only forks `ip` and
 * `iptables-restore`. The neighbours a big LAN gets in advance go in from this process (an ioctl each, see
 * net/arp.ts), and so do the switches' bridge settings. Forwarding (a sysctl) is set by the caller from inside
 * each namespace.
 */
export async function createLab(plan: Plan, id: string, stopping: () => boolean = () => false): Promise<string[]> {
	const pairs = neighbourPairs(plan);
	const fixed = staticNetworks(plan, neighbourBudget(), pairs);
	const { links, nodes } = labScript(plan, id, fixed);
	const neighbours = neighbourEntries(plan, id, fixed, pairs);
	// A lab without such neighbours (most): one shell for all of it.
	if (neighbours.length === 0) await runScript(`${links}${nodes}`);
	else {
		await runScript(links);
		// The nodes address their interfaces from two shells while this process writes the big LANs' neighbours: the
		// interfaces exist from here on, and addressing them or taking them up keeps permanent entries. A turn of the
		// event loop between nodes lets the shells' script flow to them meanwhile.
		const configured = runScript(nodes);
		configured.catch(() => {}); // awaited below
		for (const { path, ifname, entries } of neighbours) {
			if (stopping()) break; // a teardown began: the namespaces are going
			writeNeighbours(path, ifname, entries);
			await new Promise((resolve) => setImmediate(resolve));
		}
		await configured;
	}
	if (!stopping()) for (const net of bridged(plan)) quietSwitch(switchNamespace(id, net.name));
	return [...fixed];
}

/**
 * The kernel keeps one neighbour (ARP) table for every namespace of the machine, and past `gc_thresh3` entries (1024
 * by default) it refuses new ones: "neighbor table overflow", the packet is dropped, a reachable pair reads as
 * filtered. 300 hosts on a LAN need 89,700 entries. A lab may use a quarter of the table (the machine and other labs
 * share it); past that, the LANs whose checks need the most get those neighbours written in advance — permanent
 * entries, which the kernel does not count — and the rest resolve by ARP as a real LAN does.
 */
function neighbourBudget(): number {
	// LABCHECK_NEIGHBOUR_BUDGET: entries a lab may leave to ARP — a large value shows the kernel's limit biting.
	if (process.env.LABCHECK_NEIGHBOUR_BUDGET) return Number(process.env.LABCHECK_NEIGHBOUR_BUDGET);
	try {
		return Math.floor(Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8')) / 4);
	} catch {
		return 256;
	}
}

/**
 * The neighbours each node of each LAN will need because a check goes between two of its nodes, both ways (the
 * reply needs the way back): LAN → node → addresses. Checks through a router need a handful of entries; ARP finds
 * them. A LAN nobody probes across needs none.
 */
export function neighbourPairs(plan: Plan): Map<string, Map<string, Set<string>>> {
	const owners = new Map<string, { node: string; network: string }>();
	for (const n of namespaced(plan))
		for (const i of n.interfaces)
			if (!isDocker(plan, i.network)) owners.set(i.address, { node: n.name, network: i.network });
	const pairs = new Map<string, Map<string, Set<string>>>();
	const add = (network: string, node: string, address: string) => {
		const lan = pairs.get(network) ?? pairs.set(network, new Map()).get(network)!;
		(lan.get(node) ?? lan.set(node, new Set()).get(node)!).add(address);
	};
	const nodes = new Map(namespaced(plan).map((n) => [n.name, n]));
	for (const c of plan.checks) {
		const to = owners.get(c.to.address);
		const from = to && nodes.get(c.from);
		const mine = from?.interfaces.find((i) => i.network === to!.network);
		if (!to || !mine || to.node === c.from) continue;
		add(to.network, c.from, c.to.address);
		add(to.network, to.node, mine.address);
	}
	return pairs;
}

/** The LANs whose neighbours are written in advance: the most needy, until what is left fits `budget` entries. */
export function staticNetworks(plan: Plan, budget: number, pairs = neighbourPairs(plan)): Set<string> {
	const needs = [...pairs]
		.map(([name, lan]) => ({ name, entries: [...lan.values()].reduce((sum, s) => sum + s.size, 0) }))
		.sort((a, b) => b.entries - a.entries);
	let total = needs.reduce((sum, n) => sum + n.entries, 0);
	const fixed = new Set<string>();
	for (const n of needs) {
		if (total <= budget) break;
		fixed.add(n.name);
		total -= n.entries;
	}
	return fixed;
}

/** A fixed MAC per node interface, so that a neighbour entry can name it before the link exists. */
const macOf = (node: number, iface: number) =>
	['02', '1c', (node >> 16) & 255, (node >> 8) & 255, node & 255, iface & 255]
		.map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0')))
		.join(':');

const heredoc = (command: string, lines: string[], what: string, tag: string) =>
	`${command} <<'${tag}' || fail '${what.replace(/'/g, '')}'\n${lines.join('\n')}\n${tag}`;

/**
 * The neighbours written in advance on the LANs too big for the kernel's shared table (see neighbourBudget): each
 * node's interface on such a LAN, and the address and fixed MAC of each node its checks reach there.
 */
export function neighbourEntries(
	plan: Plan,
	id: string,
	fixed: Set<string>,
	pairs: ReturnType<typeof neighbourPairs>,
): Array<{ path: string; ifname: string; entries: Array<[string, string]> }> {
	const macs = new Map<string, string>();
	namespaced(plan).forEach((n, index) => {
		for (const [k, i] of n.interfaces.entries()) if (fixed.has(i.network)) macs.set(i.address, macOf(index, k));
	});
	return namespaced(plan).flatMap((node) =>
		node.interfaces
			.filter((i) => fixed.has(i.network))
			.map((i) => ({
				path: `/run/netns/${nodeNamespace(id, node.name)}`,
				ifname: i.ifname,
				entries: [...(pairs.get(i.network)?.get(node.name) ?? [])]
					.filter((address) => macs.has(address))
					.map((address): [string, string] => [address, macs.get(address)!]),
			})),
	);
}

/** The lab's two scripts: `links` makes the namespaces, bridges and veths; `nodes` addresses and routes each node. */
export function labScript(plan: Plan, id: string, fixed: Set<string> = new Set()): { links: string; nodes: string } {
	const FAIL = 'fail() { echo "$1" >&2; exit 1; }';
	let parts = [FAIL];
	let tag = 0;
	const batch = (namespace: string | undefined, lines: string[], what: string) => {
		if (lines.length > 0)
			parts.push(heredoc(`ip ${namespace ? `-n '${namespace}' ` : ''}-batch -`, lines, what, `LABCHECK_${tag++}`));
	};
	batch(
		undefined,
		namespacesOf(plan, id).map((ns) => `netns add ${ns}`),
		'create namespaces',
	);
	// Each switch namespace makes its bridge and the veth pairs of its ports, the node ends moved
	// straight into the nodes; then every node addresses its ends and adds its routes and rules.
	const ports = new Map<string, string[]>(
		bridged(plan).map((n) => [
			n.name,
			['link set lo up', 'link add br0 type bridge forward_delay 0 stp_state 0', 'link set br0 up'],
		]),
	);
	let veth = 0;
	namespaced(plan).forEach((node, index) => {
		for (const [k, iface] of node.interfaces.entries()) {
			if (isDocker(plan, iface.network)) continue;
			// Distinct ifindexes on both ends: the kernel then treats their carrier change as urgent and
			// activates them at once, instead of up to a second later (see the wait below).
			const ifindex = 1000 + 2 * veth++;
			const port = `${switchPort(index, node.name).slice(0, 12)}.${iface.ifname.slice(3)}`.slice(0, 15);
			const mac = fixed.has(iface.network) ? ` address ${macOf(index, k)}` : '';
			ports.get(iface.network)!.push(
				`link add ${port} index ${ifindex + 1} type veth ` +
					`peer name ${iface.ifname}${mac} index ${ifindex} netns ${nodeNamespace(id, node.name)}`,
				`link set ${port} master br0`,
				// The lab speaks IPv4; every new link's IPv6 chatter (router solicitations, MLD) would be flooded to
				// every port — quadratic in the LAN's size (a 1000-node LAN: 6.8 → 3.0 s). Broadcast (ARP) still floods.
				`link set ${port} type bridge_slave mcast_flood off`,
				`link set ${port} up`,
			);
		}
	});
	for (const net of bridged(plan))
		batch(switchNamespace(id, net.name), ports.get(net.name)!, `network "${net.name}": bridge and ports`);
	// Each node's addresses, routes and rules, from inside its namespace. nsenter, not `ip -n`: that one
	// unshares the mount namespace, copying every lab's /run/netns mount — quadratic in the size of the lab.
	const links = `${parts.join('\n')}\n`;
	parts = [FAIL];
	const nodeChunks = namespaced(plan).map((node) => {
		const ns = nodeNamespace(id, node.name);
		const enter = `nsenter --net=/run/netns/${ns}`;
		const lines = ['link set lo up'];
		for (const iface of node.interfaces.filter((i) => !isDocker(plan, i.network))) {
			lines.push(`addr add ${iface.address}/${iface.prefix} dev ${iface.ifname}`, `link set ${iface.ifname} up`);
		}
		for (const f of node.floating) lines.push(floatingAddress(plan, node, f.address, 'add'));
		// A NAT engine's resolver (10.0.2.3) is a second address of the host's side of the NAT network.
		for (const e of node.nat.filter((x) => x.resolver)) {
			const iface = node.interfaces.find((i) => i.network === e.network)!;
			lines.push(`addr add ${e.resolver}/${iface.prefix} dev ${iface.ifname}`);
		}
		for (const route of node.routes) lines.push(`route add ${route.to} via ${route.via}`);
		const { ip, iptables } = natRules(node);
		const chunk = [
			heredoc(
				`${enter} ip -batch -`,
				[...lines, ...ip],
				`node "${node.name}": addresses and routes`,
				`LABCHECK_${tag++}`,
			),
		];
		if (iptables)
			chunk.push(
				heredoc(
					`${enter} iptables-restore -w`,
					[iptables.trimEnd()],
					`node "${node.name}": NAT and firewall rules`,
					`LABCHECK_${tag++}`,
				),
			);
		return chunk.join('\n');
	});
	// Two shells at once, one per core.
	const halves = [0, 1].map((h) => nodeChunks.filter((_, i) => i % 2 === h)).filter((half) => half.length > 0);
	for (const half of halves) parts.push(`(\n${half.join('\n')}\n) &\nnodes="$nodes $!"`);
	parts.push('for job in $nodes; do wait $job || exit 1; done');
	parts.push(waitForPorts(bridged(plan).map((n) => switchNamespace(id, n.name))));
	return { links, nodes: `${parts.join('\n')}\n` };
}

// A fresh link passes packets only once the kernel's linkwatch work has activated it; until then
// they are dropped silently. Its events are handled in order: a node's end comes up after its
// switch port, so once every switch port shows `state UP`, both ends of every veth are active.
// One `ip` a switch, not one a node.
function waitForPorts(switches: string[]): string {
	if (switches.length === 0) return '';
	const list = switches.map((ns) => `ip -n '${ns}' -o link show`).join('; ');
	return [
		'n=0',
		`while down=$({ ${list}; } | grep -Ev ': (lo|br0)[:@]' | grep -v 'state UP'); do`,
		'  n=$((n + 1))',
		`  [ $n -lt 500 ] || fail "links did not come up: $(echo "$down" | cut -d: -f2 | head -5 | tr '\\n' ' ')"`,
		'  sleep 0.01',
		'done',
	].join('\n');
}

/** The `ip addr` line that makes a router answer ARP for a floating IP on the interface of its subnet. */
export function floatingAddress(plan: Plan, node: PlanNode, address: string, op: 'add' | 'del'): string {
	const iface = node.interfaces.find((i) =>
		contains(parseCidr(plan.networks.find((n) => n.name === i.network)!.subnet), address),
	)!;
	return `addr ${op} ${address}/32 dev ${iface.ifname}`;
}

/**
 * A lab's switch is a plain bridge, and no rule lives in its namespace: frames crossing it skip the kernel's bridge
 * netfilter, which would otherwise hand each one to the namespace's (empty) iptables hooks — on by default in every
 * namespace once br_netfilter is loaded, as Docker loads it.
 */
function quietSwitch(namespaceName: string): void {
	const namespace = NetNamespace.open(`/run/netns/${namespaceName}`);
	try {
		namespace.within(() => {
			for (const family of ['iptables', 'ip6tables', 'arptables']) {
				try {
					writeFileSync(`/proc/sys/net/bridge/bridge-nf-call-${family}`, '0');
				} catch (error) {
					if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // no br_netfilter: nothing to do
				}
			}
		});
	} finally {
		namespace.close();
	}
}
