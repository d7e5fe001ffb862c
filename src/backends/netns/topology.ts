// Namespaces, veths, bridges, addresses, routes and rules of a plan. Each LAN is a bridge in its
// own namespace; nothing is created in the root namespace, so the lab has no way to the uplink.
import type { Plan, PlanNode } from '../../plan/types.js';
import { contains, parseCidr } from '../../net/ipv4.js';
import { natRules } from './firewall.js';
import { nodeNamespace, switchNamespace, switchPort } from './names.js';
import { ipBatch, ipBatches, nsScripts } from './shell.js';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendError } from '../../errors.js';

// Docker networks and containers are made by the nodes' Docker engines, not here.
const bridged = (plan: Plan) => plan.networks.filter((n) => !n.engine);
const namespaced = (plan: Plan) => plan.nodes.filter((n) => !n.container);
const isDocker = (plan: Plan, network: string) => Boolean(plan.networks.find((n) => n.name === network)?.engine);

export function namespacesOf(plan: Plan, id: string): string[] {
	return [...bridged(plan).map((n) => switchNamespace(id, n.name)), ...namespaced(plan).map((n) => nodeNamespace(id, n.name))];
}

export async function createNamespaces(plan: Plan, id: string): Promise<void> {
	await ipBatch(undefined, namespacesOf(plan, id).map((ns) => `netns add ${ns}`), 'create namespaces');
}

/** Links, addresses, routes and rules inside namespaces made by createNamespaces. */
export async function createTopology(plan: Plan, id: string): Promise<void> {
	await Promise.all([createLinks(plan, id), createRules(plan, id)]);
}

// Each switch namespace makes its bridge and the veth pairs of its ports, the node ends moved
// straight into the nodes; then every node addresses its ends and adds its routes.
async function createLinks(plan: Plan, id: string): Promise<void> {
	const ends = new Map<string, string[]>(bridged(plan).map((n) => [n.name, ['link set lo up', 'link add br0 type bridge forward_delay 0 stp_state 0', 'link set br0 up']]));
	let veth = 0;
	namespaced(plan).forEach((node, index) => {
		for (const iface of node.interfaces.filter((i) => !isDocker(plan, i.network))) {
			// Distinct ifindexes on both ends: the kernel then treats their carrier-up as urgent and
			// activates them at once, instead of up to a second later (see waitLinksUp).
			const ifindex = 1000 + 2 * veth++;
			const port = `${switchPort(index, node.name).slice(0, 12)}.${iface.ifname.slice(3)}`.slice(0, 15);
			ends.get(iface.network)!.push(
				`link add ${port} index ${ifindex + 1} type veth peer name ${iface.ifname} index ${ifindex} netns ${nodeNamespace(id, node.name)}`,
				`link set ${port} master br0`,
				`link set ${port} up`,
			);
		}
	});
	await ipBatches(bridged(plan).map((net) => ({ namespace: switchNamespace(id, net.name), lines: ends.get(net.name)!, what: `network "${net.name}": bridge and ports` })));
	await ipBatches(namespaced(plan).map((node) => {
		const lines = ['link set lo up'];
		for (const iface of node.interfaces.filter((i) => !isDocker(plan, i.network))) {
			lines.push(`addr add ${iface.address}/${iface.prefix} dev ${iface.ifname}`, `link set ${iface.ifname} up`);
		}
		for (const f of node.floating) lines.push(floatingAddress(plan, node, f.address, 'add'));
		for (const route of node.routes) lines.push(`route add ${route.to} via ${route.via}`);
		lines.push(...natRules(node).ip);
		return { namespace: nodeNamespace(id, node.name), lines, what: `node "${node.name}": addresses and routes` };
	}));
	await waitLinksUp(namespacesOf(plan, id));
}

// Forwarding and iptables rules name interfaces but do not need them: made alongside the links.
async function createRules(plan: Plan, id: string): Promise<void> {
	await nsScripts(namespaced(plan).flatMap((node) => {
		const { iptables } = natRules(node);
		const sysctl = node.forwarding ? 'echo 1 > /proc/sys/net/ipv4/ip_forward' : '';
		if (!iptables && !sysctl) return [];
		const script = [sysctl, iptables ? `iptables-restore <<'RULES'\n${iptables}RULES` : ''].filter(Boolean).join('\n');
		return [{ namespace: nodeNamespace(id, node.name), script, what: `node "${node.name}": forwarding and NAT rules` }];
	}));
}

// The kernel activates a link's queue when its linkwatch work runs, rate-limited to about once a
// second; until then packets sent on a fresh veth are silently dropped. Wait for every link to be UP,
// looking at all the lab's namespaces with one `ip -all netns exec`.
async function waitLinksUp(namespaces: string[]): Promise<void> {
	const ours = new Set(namespaces);
	const deadline = Date.now() + 5000;
	for (;;) {
		const { stdout } = await execa('ip', ['-all', 'netns', 'exec', 'ip', '-o', 'link', 'show'], { reject: false });
		let current = '';
		const down: string[] = [];
		for (const line of stdout.split('\n')) {
			const header = /^netns: (\S+)/.exec(line);
			if (header) current = header[1];
			else if (ours.has(current) && line && !/: (lo|br0): /.test(line) && !/state UP/.test(line)) down.push(`${current} ${line.split(':')[1]?.trim()}`);
		}
		if (down.length === 0) return;
		if (Date.now() > deadline) throw new BackendError(`links did not come up: ${down.slice(0, 5).join(', ')}`);
		await sleep(10);
	}
}

/** The `ip addr` line that makes a router answer ARP for a floating IP on the interface of its subnet. */
export function floatingAddress(plan: Plan, node: PlanNode, address: string, op: 'add' | 'del'): string {
	const iface = node.interfaces.find((i) => contains(parseCidr(plan.networks.find((n) => n.name === i.network)!.subnet), address))!;
	return `addr ${op} ${address}/32 dev ${iface.ifname}`;
}
