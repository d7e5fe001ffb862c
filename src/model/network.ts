// The lab as the model sees it at one moment: who owns which address, what each node's routing
// table answers, which networks are Docker's. Pure functions over the plan.
import { contains, parseCidr } from '../net/ipv4.js';
import type { Plan, PlanInterface, PlanNetwork, PlanNode } from '../plan/types.js';

export interface View {
	plan: Plan;
	/** Containers not running at this moment (not started yet, stopped, removed). */
	absent: ReadonlySet<string>;
	/** network → address → the first node with an up interface there: made on first use (a big lab asks it often). */
	owners?: Map<string, Map<string, PlanNode>>;
	/** Nodes by name, likewise. */
	byName?: Map<string, PlanNode>;
}

const views = new WeakMap<Plan, View>();
/** The lab as the plan of one moment has it (`planAt(plan)[step]`). */
export function viewOf(plan: Plan): View {
	let view = views.get(plan);
	if (!view) {
		view = { plan, absent: new Set(plan.nodes.filter((n) => n.container && !n.container.running).map((n) => n.name)) };
		views.set(plan, view);
	}
	return view;
}

export const network = (v: View, name: string): PlanNetwork => v.plan.networks.find((n) => n.name === name)!;
export function node(v: View, name: string): PlanNode {
	v.byName ??= new Map(v.plan.nodes.map((n) => [n.name, n]));
	return v.byName.get(name)!;
}
const inNet = (v: View, iface: PlanInterface, address: string) =>
	contains(parseCidr(network(v, iface.network).subnet), address);

/** Interfaces that exist and are up now. */
export function upInterfaces(v: View, n: PlanNode): PlanInterface[] {
	return v.absent.has(n.name) ? [] : n.interfaces.filter((i) => !i.down);
}

/** The node answering for `address` on `net` (an interface address, a NAT engine's resolver, a floating IP). */
export function ownerOn(v: View, net: string, address: string): PlanNode | undefined {
	if (!v.owners) {
		v.owners = new Map();
		for (const n of v.plan.nodes)
			for (const i of upInterfaces(v, n)) {
				const on = v.owners.get(i.network) ?? v.owners.set(i.network, new Map()).get(i.network)!;
				if (!on.has(i.address)) on.set(i.address, n);
			}
	}
	return (
		v.owners.get(net)?.get(address) ??
		v.plan.nodes.find(
			(n) =>
				n.nat.some((e) => e.network === net && e.resolver === address) &&
				upInterfaces(v, n).some((i) => i.network === net),
		) ??
		v.plan.nodes.find(
			(n) =>
				n.floating.some((f) => f.address === address) &&
				upInterfaces(v, n).some((i) => i.network === net && inNet(v, i, address)),
		)
	);
}

/**
 * Whether `n` takes a packet for `address` as its own. Linux keeps the addresses of a link that is
 * down (the weak host model): a packet reaching the node another way is still delivered to it.
 */
export const ownsAddress = (v: View, n: PlanNode, address: string) =>
	(!v.absent.has(n.name) && n.interfaces.some((i) => i.address === address)) ||
	n.floating.some((f) => f.address === address) ||
	n.nat.some((e) => e.resolver === address);

export interface Route {
	iface: PlanInterface;
	via?: string;
	prefix: number;
}

/**
 * The route `n` takes to `address`: connected networks and static routes, longest prefix first.
 * `hideNat`: a host's own new packets do not see its NAT engines' networks (VirtualBox NAT lives
 * inside VirtualBox, not in the host's IP stack).
 */
export function lookup(v: View, n: PlanNode, address: string, hideNat = false): Route | undefined {
	const candidates: Route[] = [];
	for (const iface of upInterfaces(v, n)) {
		if (hideNat && n.nat.some((e) => e.network === iface.network)) continue;
		if (inNet(v, iface, address)) candidates.push({ iface, prefix: iface.prefix });
	}
	for (const r of n.routes) {
		const prefix = r.to === 'default' ? 0 : parseCidr(r.to).prefix;
		if (r.to !== 'default' && !contains(parseCidr(r.to), address)) continue;
		const iface = upInterfaces(v, n).find(
			(i) => inNet(v, i, r.via) && !(hideNat && n.nat.some((e) => e.network === i.network)),
		);
		if (iface) candidates.push({ iface, via: r.via, prefix });
	}
	return candidates.sort((a, b) => b.prefix - a.prefix)[0];
}

export const dockerNetwork = (v: View, iface: PlanInterface | undefined) =>
	iface ? network(v, iface.network).engine !== undefined : false;
