// The plan: a scenario normalised into the topology a backend builds. Plain data, no I/O.
import type { SourcePosition } from '../errors.js';
import type { ProbeOptions } from '../../probes/types.js';

export type NodeKind = 'host' | 'vm' | 'container' | 'neighbour' | 'internet' | 'router';
export type ServiceName = 'sshd' | 'calculator' | 'sum' | 'sub' | 'mul' | 'div' | 'dns' | 'echo';
export type Outcome = 'reachable' | 'unreachable' | 'succeeds' | 'fails';
/** What a check expects; `auto` takes the model's prediction. */
export type Expected = Outcome | 'auto';

export interface PlanNetwork {
	name: string;
	subnet: string;
	role: string;
	gateway?: string;
	/** The gateway hides this network behind its own address toward the internet. */
	masquerade?: boolean;
	/** Made by labcheck (a NAT link, the internet's uplink), not written in the scenario. */
	auto: boolean;
	about?: string;
	/** A Docker network: the node whose engine owns it. */
	engine?: string;
	internal?: boolean;
}

export interface PlanInterface {
	network: string;
	address: string;
	prefix: number;
	ifname: string;
	down?: boolean;
}
export interface PlanRoute {
	to: string;
	via: string;
}

/** A port forward of a NAT engine: hostPort on any of the host's addresses → guest:guestPort. */
export interface PlanForward {
	proto: 'tcp' | 'udp';
	hostPort: number;
	guest: string;
	guestAddress: string;
	guestPort: number;
}

/** VirtualBox-style NAT: `guest` sits on `network` behind this node, which hides it and forwards only `forwards`. */
export interface PlanNat {
	network: string;
	subnet: string;
	gateway: string;
	guest: string;
	forwards: PlanForward[];
	/** The engine's DNS resolver (10.0.2.3 in VirtualBox): answers the lab's names to the guest. */
	resolver?: string;
}

export interface PlanService {
	name: ServiceName;
	port: number;
	/** tcp unless said. */
	proto?: 'tcp' | 'udp';
	/** The one address it listens on (a NAT engine's resolver); all of the node's when undefined. */
	address?: string;
	/** Added by labcheck (a NAT engine's resolver), not written in the scenario. */
	auto?: boolean;
	peers?: Partial<Record<ServiceName, string>>;
	stopped?: boolean;
}

/** An ingress rule of a security group: protocol, optional port range, remote CIDR. */
export interface SecurityRule {
	text: string;
	proto: 'icmp' | 'tcp' | 'udp' | 'any';
	ports?: [number, number];
	from: string;
}

/** A floating IP of a router: `address` on its public side, 1:1 NAT to `node`'s `privateAddress`. */
export interface PlanFloating {
	address: string;
	node: string;
	privateAddress: string;
}

export interface PlanNode {
	name: string;
	kind: NodeKind;
	about?: string;
	auto: boolean;
	interfaces: PlanInterface[];
	routes: PlanRoute[];
	forwarding: boolean;
	nat: PlanNat[];
	/**
	 * Source NAT of a router (the scenario's `snat:`, or a network's `masquerade: true`): traffic from `from` leaving
	 * through `outNetwork` (or any network but `notOut`) takes the router's address.
	 */
	snat: Array<{ from: string; outNetwork?: string; notOut?: string }>;
	/** Ingress rules when the node has a security group (default deny ingress); undefined when it has none. */
	security?: SecurityRule[];
	floating: PlanFloating[];
	services: PlanService[];
	/** The node runs a Docker engine of its own (a dedicated dockerd in its namespace). */
	engine?: boolean;
	container?: PlanContainer;
}

export interface PlanPublish {
	proto: 'tcp' | 'udp';
	hostPort: number;
	containerPort: number;
}

export interface PlanContainer {
	engine: string;
	image: string;
	publish: PlanPublish[];
	/** Started when the lab is built. */
	start: boolean;
	/** Running at this point of the scenario: built started, then changed by stop, start and remove steps. */
	running: boolean;
}

/** A change a step makes: `verb target [args]`, e.g. commit ct2 as snap. */
export interface PlanAction {
	text: string;
	verb:
		| 'commit'
		| 'stop'
		| 'start'
		| 'remove'
		| 'exec'
		| 'build'
		| 'allow'
		| 'revoke'
		| 'float'
		| 'unfloat'
		| 'route-add'
		| 'route-del'
		| 'link-down'
		| 'link-up'
		| 'service-stop'
		| 'service-start';
	target: string;
	arg?: string;
	rule?: SecurityRule;
	route?: PlanRoute;
	expect: 'ok' | 'refused';
	at: SourcePosition;
}

export interface PlanStep {
	name: string;
	actions: PlanAction[];
}

export interface PlanImage {
	name: string;
	dockerfile: string;
}

export interface PlanTarget {
	label: string;
	node?: string;
	/** An IPv4 address, or on a real lab a host name (resolved by the source node). */
	address: string;
	port?: number;
	/** A URL target (http): its scheme, the host it names and the path to ask for. */
	url?: { https: boolean; host: string; path: string };
}

export interface PlanCheck {
	id: string;
	/** 0: the lab as built; k: after step k. */
	step: number;
	at: SourcePosition;
	probe: string;
	from: string;
	to: PlanTarget;
	expect: Expected;
	options: ProbeOptions;
}

export interface Plan {
	name: string;
	about?: string;
	file: string;
	networks: PlanNetwork[];
	nodes: PlanNode[];
	checks: PlanCheck[];
	steps: PlanStep[];
	images: PlanImage[];
}

// Plans of big labs are asked for nodes by name a million times: an index per nodes array.
const indexes = new WeakMap<PlanNode[], Map<string, PlanNode>>();
export function nodeByName(plan: Plan, name: string): PlanNode | undefined {
	let index = indexes.get(plan.nodes);
	if (!index || index.size !== plan.nodes.length) {
		index = new Map(plan.nodes.map((n) => [n.name, n]));
		indexes.set(plan.nodes, index);
	}
	const node = index.get(name);
	return node?.name === name ? node : plan.nodes.find((n) => n.name === name);
}

/** The node and network owning `address`, if any node of the lab has it. */
export function ownerOf(plan: Plan, address: string): { node: PlanNode; iface: PlanInterface } | undefined {
	for (const node of plan.nodes) {
		const iface = node.interfaces.find((i) => i.address === address);
		if (iface) return { node, iface };
	}
	// A NAT engine's resolver (10.0.2.3) answers on its host's side of the NAT network.
	for (const node of plan.nodes) {
		const nat = node.nat.find((e) => e.resolver === address);
		if (nat) return { node, iface: node.interfaces.find((i) => i.network === nat.network)! };
	}
	return undefined;
}
