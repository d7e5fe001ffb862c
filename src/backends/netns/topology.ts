// Namespaces, veths, bridges, addresses, routes and rules of a plan. Each LAN is a bridge in its
// own namespace; nothing is created in the root namespace, so the lab has no way to the uplink.
import type { Plan } from '../../plan/types.js';
import { natRules } from './nat.js';
import { nodeNamespace, switchNamespace, switchPort } from './names.js';
import { ipBatch, nsExec } from './shell.js';

export function namespacesOf(plan: Plan, id: string): string[] {
	return [...plan.networks.map((n) => switchNamespace(id, n.name)), ...plan.nodes.map((n) => nodeNamespace(id, n.name))];
}

export async function createTopology(plan: Plan, id: string): Promise<void> {
	await ipBatch(undefined, namespacesOf(plan, id).map((ns) => `netns add ${ns}`), 'create namespaces');
	await Promise.all(plan.networks.map((net) => ipBatch(switchNamespace(id, net.name), [
		'link set lo up',
		'link add br0 type bridge forward_delay 0 stp_state 0',
		'link set br0 up',
	], `network "${net.name}": create bridge`)));

	const ports = new Map<string, string[]>(plan.networks.map((n) => [n.name, []]));
	await Promise.all(plan.nodes.map((node, index) => {
		const lines = ['link set lo up'];
		for (const iface of node.interfaces) {
			const port = switchPort(index, node.name);
			const peer = `${port.slice(0, 12)}.${iface.ifname.slice(3)}`.slice(0, 15);
			ports.get(iface.network)!.push(peer);
			lines.push(
				`link add ${iface.ifname} type veth peer name ${peer} netns ${switchNamespace(id, iface.network)}`,
				`addr add ${iface.address}/${iface.prefix} dev ${iface.ifname}`,
				`link set ${iface.ifname} up`,
			);
		}
		for (const route of node.routes) lines.push(`route add ${route.to} via ${route.via}`);
		lines.push(...natRules(node).ip);
		return ipBatch(nodeNamespace(id, node.name), lines, `node "${node.name}": create interfaces`);
	}));
	await Promise.all(plan.networks.map((net) => ipBatch(switchNamespace(id, net.name),
		ports.get(net.name)!.flatMap((p) => [`link set ${p} master br0`, `link set ${p} up`]),
		`network "${net.name}": plug ports`)));

	await Promise.all(plan.nodes.map((node) => {
		const { iptables } = natRules(node);
		const sysctl = node.forwarding ? 'echo 1 > /proc/sys/net/ipv4/ip_forward' : '';
		if (!iptables && !sysctl) return undefined;
		const script = [sysctl, iptables ? 'iptables-restore <<"RULES"\n' + iptables + 'RULES' : ''].filter(Boolean).join('\n');
		return nsExec(nodeNamespace(id, node.name), ['sh', '-ec', script], `node "${node.name}": forwarding and NAT rules`);
	}));
}
