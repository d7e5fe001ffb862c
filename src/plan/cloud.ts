// Cloud pieces of the plan: static routes, security groups, routers' tenant SNAT and floating IPs.
import { contains, isIPv4, parseCidr, subnetProblem } from '../net/ipv4.js';
import { didYouMean } from '../scenario/suggest.js';
import type { PlanContext } from './context.js';
import type { Plan, PlanNetwork, PlanNode, PlanRoute, SecurityRule } from './types.js';

const RULE = /^allow\s+(icmp|tcp|udp|any)(?:\/(\d+)(?:-(\d+))?)?\s+from\s+(\S+)$/;

const RULE_FORMAT = 'write "allow PROTO[/PORT[-PORT]] from CIDR", e.g. "allow tcp/22 from 0.0.0.0/0"';

/** "allow tcp/50000-50004 from 0.0.0.0/0" → a rule, or a sentence saying what is wrong. */
export function parseRule(text: string): SecurityRule | string {
	const m = RULE.exec(text.trim());
	if (!m) return `cannot read rule "${text}": ${RULE_FORMAT}`;
	const [, proto, lo, hi, from] = m;
	const cidr = from === 'any' ? '0.0.0.0/0' : from.includes('/') ? from : `${from}/32`;
	try {
		parseCidr(cidr);
	} catch {
		return `"${from}" is not a CIDR such as 0.0.0.0/0 or 10.1.0.0/16`;
	}
	if (!isIPv4(cidr.split('/')[0])) return `"${from}" is not a CIDR such as 0.0.0.0/0 or 10.1.0.0/16`;
	if (lo && proto !== 'tcp' && proto !== 'udp') return `${proto} has no ports`;
	const ports: [number, number] | undefined = lo ? [Number(lo), Number(hi ?? lo)] : undefined;
	if (ports && (ports[0] < 1 || ports[1] > 65535 || ports[0] > ports[1]))
		return `port range ${lo}-${hi ?? lo} is not within 1-65535`;
	return { text: text.trim(), proto: proto as SecurityRule['proto'], ports, from: parseCidr(cidr).text };
}

/** "SUBNET via GW" or "default via GW" → a route, or a sentence saying what is wrong. */
export function parseRoute(text: string): PlanRoute | string {
	const [to, , via] = text.trim().split(/\s+/);
	if (!isIPv4(via ?? '')) return `gateway "${via}" is not an IPv4 address such as 192.168.1.254`;
	if (to === 'default') return { to, via };
	const bad = subnetProblem(to);
	if (bad) return `${bad.message}${bad.hint ? ` — ${bad.hint}` : ''}`;
	return { to: parseCidr(to).text, via };
}

export const onLink = (node: PlanNode, networks: Map<string, PlanNetwork>, address: string) =>
	node.interfaces.some((i) => contains(parseCidr(networks.get(i.network)!.subnet), address));

export function planCloud({ problems, nodes, networks }: PlanContext): void {
	for (const [name, spec] of Object.entries(problems.loaded.scenario.nodes)) {
		const node = nodes.get(name)!;
		const base = ['nodes', name];
		if (spec.kind === 'router') node.forwarding = true;
		if (spec.routes) {
			node.routes = [];
			for (const [i, text] of spec.routes.entries()) {
				const route = parseRoute(text);
				if (typeof route === 'string') problems.add([...base, 'routes', i], route);
				else if (!onLink(node, networks, route.via))
					problems.add(
						[...base, 'routes', i],
						`gateway ${route.via} is on none of ${name}'s networks`,
						"a route's gateway must be a neighbour on one of its networks",
					);
				else node.routes.push(route);
			}
		}
		if (spec.security_group) {
			if (node.engine)
				problems.add(
					[...base, 'security_group'],
					'a node running a Docker engine cannot have a security group here',
					undefined,
					true,
				);
			node.security = [];
			for (const [i, text] of spec.security_group.entries()) {
				const rule = parseRule(text);
				if (typeof rule === 'string') problems.add([...base, 'security_group', i], rule);
				else node.security.push(rule);
			}
		}
		for (const [i, net] of (spec.snat ?? []).entries()) {
			const network = networks.get(net);
			// A network behind another router is reached through the interface its route leaves by.
			const route = network && node.routes.find((r) => r.to === network.subnet);
			const via =
				route &&
				node.interfaces.find((iface) => contains(parseCidr(networks.get(iface.network)!.subnet), route.via))?.network;
			const inside = node.interfaces.some((iface) => iface.network === net) ? net : via;
			if (!network || !inside) {
				problems.add(
					[...base, 'snat', i],
					`${name} neither is on "${net}" nor has a route to it`,
					didYouMean(net, networks.keys()) ?? 'add a route to it first',
				);
			} else node.snat.push({ from: network.subnet, notOut: inside });
		}
		for (const [address, target] of Object.entries(spec.floating ?? {})) {
			const problem = floatProblem(node, nodes, networks, address, target);
			if (problem) problems.add([...base, 'floating', address], problem.message, problem.hint);
			else node.floating.push({ address, node: target, privateAddress: privateAddressOf(node, nodes.get(target)!)! });
		}
	}
}

/** The address of `target` on a network the router shares with it. */
export function privateAddressOf(router: PlanNode, target: PlanNode): string | undefined {
	return target.interfaces.find((i) => router.interfaces.some((r) => r.network === i.network))?.address;
}

export function floatProblem(
	router: PlanNode,
	nodes: Map<string, PlanNode>,
	networks: Map<string, PlanNetwork>,
	address: string,
	target: string,
) {
	const node = nodes.get(target);
	if (!node) return { message: `unknown node "${target}"`, hint: didYouMean(target, nodes.keys()) };
	if (!isIPv4(address))
		return { message: `floating IP "${address}" is not an IPv4 address`, hint: 'e.g. 192.168.37.60' };
	if (!onLink(router, networks, address)) {
		return {
			message: `floating IP ${address} is on none of ${router.name}'s networks`,
			hint: 'take it from the public network the router is on',
		};
	}
	if (!privateAddressOf(router, node))
		return {
			message: `${router.name} shares no network with ${target}`,
			hint: 'a floating IP maps to an address behind the router',
		};
	return undefined;
}

/** The router that can carry floating IP `address` to `node`. */
export function routerFor(
	plan: Plan,
	networks: Map<string, PlanNetwork>,
	node: PlanNode,
	address: string,
): PlanNode | string {
	const nodes = new Map(plan.nodes.map((n) => [n.name, n]));
	const routers = plan.nodes.filter(
		(n) => n.kind === 'router' && !floatProblem(n, nodes, networks, address, node.name),
	);
	return routers[0] ?? `no router both reaches ${node.name} and owns a network with ${address}`;
}
