// Scenario → plan: networks, addresses, NAT engines, gateways and routes, services. Pure; reports problems by
// position.
import {
	contains,
	hostAt,
	isReserved,
	isTestNet,
	overlaps,
	parseCidr,
	size,
	subnetProblem,
	type Cidr,
} from '../net/ipv4.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { Path } from '../scenario/source.js';
import { didYouMean } from '../scenario/suggest.js';
import { buildChecks } from './checks.js';
import { type PlanContext, type PlanOptions, Problems } from './context.js';
import { NAT_RESOLVER_HOST } from './rules.js';
import { checkPorts, parsePortSpec } from './ports.js';
import { buildServices } from './services.js';
import { planContainers } from './docker.js';
import { planCloud } from './cloud.js';
import { buildSteps, checkStepStates } from './steps.js';
import type { Plan, PlanForward, PlanNetwork, PlanNode } from './types.js';

export const WAN = { name: 'wan', subnet: '203.0.113.0/24', internet: '203.0.113.10' };
// VirtualBox's NAT network: the gateway at .2, the engine's DNS resolver at .3, the guest at .15.
const VBOX_NAT = { firstSubnet: '10.0.2.0/24', gateway: 2, resolver: NAT_RESOLVER_HOST, guest: 15 };

/** The lab gets the emulated internet's network when its internet node is placed by labcheck. */
const wantsWan = (scenario: LoadedScenario['scenario']) =>
	Object.values(scenario.nodes).some((n) => n.kind === 'internet' && !n.on && !n.interfaces);

export function buildPlan(loaded: LoadedScenario, options: PlanOptions = {}): Plan {
	const { scenario } = loaded;
	const problems = new Problems(loaded);
	const networks = new Map<string, PlanNetwork & { cidr: Cidr }>();
	const nodes = new Map<string, PlanNode>();
	const taken = new Map<string, string>(); // "network/address" → node

	for (const [name, net] of Object.entries(scenario.networks ?? {})) {
		const bad = subnetProblem(net.subnet);
		if (bad) {
			problems.add(['networks', name, 'subnet'], bad.message, bad.hint);
			continue;
		}
		const cidr = parseCidr(net.subnet);
		if (name !== WAN.name && overlaps(cidr, parseCidr(WAN.subnet)) && wantsWan(scenario)) {
			problems.add(
				['networks', name, 'subnet'],
				`subnet ${cidr.text} of "${name}" overlaps the lab's internet (${WAN.subnet}, TEST-NET-3)`,
				'pick a private range, e.g. 10.1.0.0/16',
			);
		}
		const clash = [...networks.values()].find((other) => overlaps(other.cidr, cidr));
		if (clash)
			problems.add(
				['networks', name, 'subnet'],
				`subnet ${cidr.text} of "${name}" overlaps "${clash.name}" (${clash.subnet})`,
				'give each network its own range',
			);
		if (net.gateway && (!contains(cidr, net.gateway) || isReserved(cidr, net.gateway))) {
			problems.add(['networks', name, 'gateway'], `gateway ${net.gateway} is not a host address of ${cidr.text}`);
		}
		networks.set(name, {
			name,
			subnet: cidr.text,
			cidr,
			role: net.role ?? 'lan',
			gateway: net.gateway,
			masquerade: net.masquerade,
			auto: false,
			about: net.about,
		});
	}
	problems.throwIfAny(); // nodes on a network that could not be read would only repeat the problem

	const addNetwork = (name: string, subnet: string, role: string, gateway?: string) => {
		const net: PlanNetwork & { cidr: Cidr } = { name, subnet, cidr: parseCidr(subnet), role, gateway, auto: true };
		networks.set(name, net);
		return net;
	};
	/** A free address of the network, from host `from` on; undefined when it is full. */
	const allocate = (net: { cidr: Cidr; name: string }, from = 10): string | undefined => {
		const last = size(net.cidr) - (net.cidr.prefix < 31 ? 2 : 1);
		const first = net.cidr.prefix < 31 ? 1 : 0;
		// From `from` to the end, then what lies below it: a small subnet still fills up completely.
		for (let i = 0; i <= last - first; i++) {
			const offset = first + ((Math.max(first, Math.min(from, last)) - first + i) % (last - first + 1));
			const address = hostAt(net.cidr, offset);
			if (!taken.has(`${net.name}/${address}`) && address !== networks.get(net.name)?.gateway) return address;
		}
		return undefined;
	};
	const attach = (node: PlanNode, netName: string, address: string | undefined, path: Path, from = 10) => {
		const net = networks.get(netName);
		if (!net) {
			problems.add(
				path,
				`unknown network "${netName}"`,
				didYouMean(netName, networks.keys()) ?? `networks: ${[...networks.keys()].join(', ') || 'none declared'}`,
			);
			return;
		}
		const addressPath = path.at(-1) === 'interfaces' ? [...path, netName] : [...path.slice(0, -1), 'address'];
		if (address && !contains(net.cidr, address)) {
			problems.add(
				addressPath,
				`address ${address} is outside ${net.name} (${net.subnet})`,
				`pick an address in ${net.subnet}`,
			);
			return;
		}
		if (address && isReserved(net.cidr, address)) {
			problems.add(addressPath, `address ${address} is the network or broadcast address of ${net.subnet}`);
			return;
		}
		const chosen = address ?? allocate(net, from);
		if (!chosen) {
			problems.add(
				path,
				`network ${net.name} (${net.subnet}) is full: no free address for ${node.name}`,
				'give the network a larger subnet',
			);
			return;
		}
		const owner = taken.get(`${net.name}/${chosen}`);
		if (owner) {
			const free = allocate(net);
			problems.add(
				addressPath,
				`address ${chosen} on ${net.name} is already taken by ${owner}`,
				free ? `try ${free}` : `${net.name} is full`,
			);
			return;
		}
		taken.set(`${net.name}/${chosen}`, node.name);
		node.interfaces.push({
			network: net.name,
			address: chosen,
			prefix: net.cidr.prefix,
			ifname: `eth${node.interfaces.length}`,
		});
	};
	const newNode = (name: string, kind: PlanNode['kind'], auto: boolean, about?: string): PlanNode => {
		const node: PlanNode = {
			name,
			kind,
			about,
			auto,
			interfaces: [],
			routes: [],
			forwarding: false,
			nat: [],
			snat: [],
			services: [],
			floating: [],
		};
		nodes.set(name, node);
		return node;
	};

	const declared = Object.entries(scenario.nodes);
	for (const [name, spec] of declared) newNode(name, spec.kind, false, spec.about);

	for (const [name, spec] of declared) {
		const node = nodes.get(name)!;
		const base = ['nodes', name];
		if (spec.on && spec.bridge)
			problems.add(
				[...base, 'bridge'],
				'use either `on` or `bridge`, not both',
				'a bridged VM is simply `on` the LAN',
				true,
			);
		if (spec.docker) continue; // containers are planned with their Docker engine, below
		const lan = spec.bridge ?? spec.on;
		if (lan) attach(node, lan, spec.address, [...base, spec.bridge ? 'bridge' : 'on']);
		else if (spec.address && spec.kind !== 'internet')
			problems.add([...base, 'address'], '`address` needs `on: <network>`', undefined, true);
		for (const [netName, address] of Object.entries(spec.interfaces ?? {}))
			attach(node, netName, address, [...base, 'interfaces']);
		if (spec.kind === 'internet' && node.interfaces.length === 0) {
			const wan = networks.get(WAN.name) ?? addNetwork(WAN.name, WAN.subnet, 'wan');
			const address = spec.address ?? WAN.internet;
			if (!contains(wan.cidr, address))
				problems.add(
					[...base, 'address'],
					`the internet node's address ${address} is outside ${WAN.subnet}`,
					`use e.g. ${WAN.internet}`,
				);
			else attach(node, WAN.name, address, [...base, 'address']);
		}
		if (spec.kind === 'internet') {
			for (const iface of node.interfaces) {
				if (!isTestNet(iface.address))
					problems.add(
						[...base],
						'the internet node must use a TEST-NET address (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), ' +
							`not ${iface.address}`,
						'labcheck never sends packets to real internet addresses',
						true,
					);
			}
		}
		if (!lan && !spec.interfaces && !spec.nat && spec.kind !== 'internet')
			problems.add(
				base,
				`node "${name}" is on no network`,
				'add `on: <network>`, `nat: <host>` or `bridge: <network>`',
				true,
			);
	}

	// A NAT adapter is a guest's first interface: a NAT VM's address is its NAT address, as in VirtualBox.
	const inLoop = new Set<string>();
	const natVia = (spec: (typeof declared)[number][1]) => (typeof spec.nat === 'string' ? spec.nat : spec.nat?.via);
	for (const [name, spec] of declared) {
		if (!spec.nat) continue;
		// A VM may sit behind a VM behind a host (nested NAT), but not behind itself by a detour.
		const chain = [name];
		for (let via = natVia(spec); via && scenario.nodes[via] && !chain.includes(via); via = natVia(scenario.nodes[via]))
			chain.push(via);
		const last = natVia(scenario.nodes[chain.at(-1)!]);
		if (last && chain.includes(last) && last !== chain.at(-1)) {
			if (inLoop.has(name)) continue; // one problem a loop
			for (const member of chain) inLoop.add(member);
			problems.add(
				typeof spec.nat === 'string' ? ['nodes', name, 'nat'] : ['nodes', name, 'nat', 'via'],
				`NAT loop: ${[...chain, last].join(' behind ')}`,
				'a NAT chain must end at a node on a network',
			);
			continue;
		}
		const node = nodes.get(name)!;
		const via = typeof spec.nat === 'string' ? spec.nat : spec.nat.via;
		const viaPath = typeof spec.nat === 'string' ? ['nodes', name, 'nat'] : ['nodes', name, 'nat', 'via'];
		const host = nodes.get(via);
		if (!host || via === name) {
			problems.add(
				viaPath,
				via === name ? `"${name}" cannot sit behind its own NAT` : `unknown node "${via}" in nat`,
				didYouMean(via, nodes.keys()),
			);
			continue;
		}
		const wanted = typeof spec.nat === 'object' && spec.nat.subnet ? parseCidr(spec.nat.subnet) : undefined;
		const hostNets = () => host.interfaces.map((i) => networks.get(i.network)!.cidr);
		let cidr = wanted ?? parseCidr(VBOX_NAT.firstSubnet);
		if (wanted && hostNets().some((c) => overlaps(c, wanted))) {
			problems.add(
				['nodes', name, 'nat', 'subnet'],
				`NAT subnet ${wanted.text} overlaps another network of ${via}`,
				'VirtualBox gives each NAT adapter of a host its own 10.0.x.0/24',
			);
			continue;
		}
		// VirtualBox's next free 10.0.x.0/24: step past each network of the host that overlaps.
		for (
			let clash = hostNets().find((c) => overlaps(c, cidr));
			!wanted && clash;
			clash = hostNets().find((c) => overlaps(c, cidr))
		) {
			const next = Math.ceil((clash.base + size(clash)) / 256) * 256;
			if (next >= 2 ** 32) break;
			cidr = parseCidr(`${hostAt({ base: 0, prefix: 0, text: '' }, next)}/24`);
		}
		if (!wanted && hostNets().some((c) => overlaps(c, cidr))) {
			problems.add(
				viaPath,
				`no free /24 is left for a NAT network behind ${via}`,
				`give it one with \`nat: { via: ${via}, subnet: 10.0.3.0/24 }\``,
			);
			continue;
		}
		const net = addNetwork(`${name}-nat`, cidr.text, 'nat', hostAt(cidr, VBOX_NAT.gateway));
		attach(node, net.name, hostAt(cidr, VBOX_NAT.guest), ['nodes', name, 'nat']);
		node.interfaces.unshift(node.interfaces.pop()!);
		node.interfaces.forEach((iface, index) => {
			iface.ifname = `eth${index}`;
		});
		attach(host, net.name, net.gateway, ['nodes', name, 'nat']);
		host.forwarding = true;
		const resolver = size(cidr) > 16 ? hostAt(cidr, VBOX_NAT.resolver) : undefined;
		host.nat.push({ network: net.name, subnet: cidr.text, gateway: net.gateway!, guest: name, forwards: [], resolver });
		// The NAT engine's resolver answers the guest with the lab's names (scenario's services resolve them alike).
		if (resolver) host.services.push({ name: 'dns', port: 53, proto: 'udp', address: resolver, auto: true });
		node.routes.push({ to: 'default', via: net.gateway! });
	}

	const context: PlanContext = { problems, nodes, networks, addNetwork, attach };
	planContainers(context, declared);
	planCloud(context);

	for (const [name, spec] of declared) {
		const node = nodes.get(name)!;
		const base = ['nodes', name];
		addForwards(problems, node, spec.forward ?? [], nodes, base);
		if (spec.gateway) {
			const onLink = node.interfaces.some((i) => contains(networks.get(i.network)!.cidr, spec.gateway!));
			if (!onLink) problems.add([...base, 'gateway'], `gateway ${spec.gateway} is on none of ${name}'s networks`);
			node.routes = [{ to: 'default', via: spec.gateway }];
		}
	}
	problems.throwIfAny();

	addGateways(problems, networks, nodes, taken, addNetwork, allocate);
	for (const node of nodes.values()) {
		if (
			node.auto ||
			node.kind === 'internet' ||
			node.routes.some((r) => r.to === 'default') ||
			scenario.nodes[node.name]?.routes
		)
			continue;
		const own = new Set(node.interfaces.map((i) => i.address));
		const gateway = node.interfaces.map((i) => networks.get(i.network)!.gateway).find((g) => g && !own.has(g));
		if (gateway) node.routes.push({ to: 'default', via: gateway });
	}

	const plan: Plan = {
		name: scenario.name,
		about: scenario.about,
		file: loaded.source.file,
		networks: [...networks.values()].map(({ cidr: _cidr, ...net }) => net),
		nodes: [...nodes.values()],
		checks: [],
		steps: [],
		images: [],
	};
	buildServices(problems, plan);
	checkPorts(problems, plan);
	Object.assign(plan, buildSteps(problems, plan));
	if (problems.list.length === 0) checkStepStates(problems, plan);
	plan.checks = buildChecks(problems, plan, options);
	problems.throwIfAny();
	return plan;
}

function addForwards(
	problems: Problems,
	guest: PlanNode,
	specs: Array<string | { host: number; guest: number; proto?: 'tcp' | 'udp' }>,
	nodes: Map<string, PlanNode>,
	base: Path,
): void {
	if (specs.length === 0) return;
	const nat = [...nodes.values()].flatMap((n) => n.nat).find((n) => n.guest === guest.name);
	if (!nat) {
		problems.add(
			[...base, 'forward'],
			`\`forward\` needs \`nat\`: port forwards are rules of a NAT engine`,
			`add \`nat: host\` to ${guest.name}`,
			true,
		);
		return;
	}
	for (const spec of specs) {
		const { hostPort, guestPort, proto } = parsePortSpec(spec);
		const forward: PlanForward = {
			proto,
			hostPort,
			guest: guest.name,
			guestAddress: hostAt(parseCidr(nat.subnet), VBOX_NAT.guest),
			guestPort,
		};
		nat.forwards.push(forward);
	}
}

// A LAN whose gateway no node owns gets a router to the lab's internet, as the room's gateway had.
function addGateways(
	problems: Problems,
	networks: Map<string, PlanNetwork & { cidr: Cidr }>,
	nodes: Map<string, PlanNode>,
	taken: Map<string, string>,
	addNetwork: (name: string, subnet: string, role: string) => PlanNetwork & { cidr: Cidr },
	allocate: (net: { cidr: Cidr; name: string }, from?: number) => string | undefined,
): void {
	const internet = [...nodes.values()].find((n) => n.kind === 'internet');
	const routers: Array<{ router: PlanNode; lan: PlanNetwork; wanAddress: string; hidden: boolean }> = [];
	for (const net of [...networks.values()]) {
		if (!net.gateway || net.auto) continue;
		const owner = [...nodes.values()].find((n) =>
			n.interfaces.some((i) => i.network === net.name && i.address === net.gateway),
		);
		if (owner) {
			owner.forwarding = true;
			continue;
		}
		if (!internet || net.role === 'private' || net.role === 'host-only') continue;
		const wan = networks.get(WAN.name) ?? addNetwork(WAN.name, WAN.subnet, 'wan');
		const router: PlanNode = {
			name: `${net.name}-gw`,
			kind: 'router',
			auto: true,
			about: `gateway of ${net.name} to the internet`,
			interfaces: [],
			routes: [],
			forwarding: true,
			nat: [],
			snat: [],
			services: [],
			floating: [],
		};
		const wanAddress = allocate(wan, 1);
		if (!wanAddress) {
			problems.add(
				['networks', net.name, 'gateway'],
				`no address is left on the lab's internet (${WAN.subnet}) for the router of ${net.name}`,
				'give fewer networks a `gateway`, or make some `role: private`',
			);
			continue;
		}
		for (const [network, address] of [
			[net.name, net.gateway],
			[wan.name, wanAddress],
		] as const) {
			taken.set(`${network}/${address}`, router.name);
			router.interfaces.push({
				network,
				address,
				prefix: networks.get(network)!.cidr.prefix,
				ifname: `eth${router.interfaces.length}`,
			});
		}
		const masquerade = Boolean(net.masquerade);
		if (masquerade) router.snat.push({ from: net.subnet, outNetwork: wan.name });
		const internetAddress = internet.interfaces.find((i) => i.network === WAN.name)?.address;
		// Beyond the room's gateway lies the internet; what it does not know it drops silently, as the real one did.
		if (internetAddress) router.routes.push({ to: 'default', via: internetAddress });
		nodes.set(router.name, router);
		routers.push({ router, lan: net, wanAddress, hidden: masquerade });
	}
	for (const { router, lan, wanAddress, hidden } of routers) {
		if (internet && !hidden && internet.interfaces.some((i) => i.network === WAN.name))
			internet.routes.push({ to: lan.subnet, via: wanAddress });
		for (const other of routers)
			if (other.router !== router && !hidden) other.router.routes.push({ to: lan.subnet, via: wanAddress });
	}
}

export { type PlanOptions, Problems } from './context.js';
