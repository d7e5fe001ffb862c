// Random *valid* labs for the differential tester: LANs with and without gateways, routers with
// missing or one-way routes, SNAT, floating IPs, security groups, NAT VMs with forwards, services,
// and steps that change them — every check `auto`, so the model's prediction is the expectation
// and the real lab's measurement must equal it. Deterministic per seed: a failing seed is a fixture.
import { stringify } from 'yaml';

/** mulberry32: a small seeded generator, so that a seed names a lab for good. */
export function random(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
	const chance = (p: number) => next() < p;
	const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)];
	const some = <T>(items: readonly T[], p: number): T[] => items.filter(() => chance(p));
	return { next, int, chance, pick, some };
}

type Node = Record<string, unknown> & { kind: string };

export interface Topology {
	seed: number;
	text: string;
	docker: boolean;
}

const RULES = [
	'allow icmp from 0.0.0.0/0',
	'allow tcp/22 from 0.0.0.0/0',
	'allow tcp/50000-50004 from 0.0.0.0/0',
	'allow any from 10.0.0.0/8',
	'allow tcp from 192.168.0.0/16',
	'allow udp/53 from 0.0.0.0/0',
];

/** A random lab of namespaces only (no Docker): LANs, routers, hosts, NAT VMs, steps. */
export function randomTopology(seed: number): Topology {
	const r = random(seed);
	const networks: Record<string, Record<string, unknown>> = {};
	const nodes: Record<string, Node> = {};
	const lans = Array.from({ length: r.int(1, 3) }, (_, i) => ({
		name: `n${i}`,
		base: r.chance(0.5) ? `10.${i + 1}.0` : `192.168.${i + 10}`,
		hosts: 10,
	}));
	const withInternet = r.chance(0.7);
	if (withInternet) nodes.internet = { kind: 'internet' };
	// Routers join pairs of LANs; their addresses are .1, .2, … on each.
	const routers =
		lans.length > 1
			? Array.from({ length: r.int(0, lans.length) }, (_, i) => {
					const [a, b] = r.chance(0.5)
						? [lans[i % lans.length], lans[(i + 1) % lans.length]]
						: [lans[0], lans[lans.length - 1]];
					return { name: `r${i}`, a, b, index: i + 1 };
				}).filter((x) => x.a !== x.b)
			: [];
	for (const lan of lans) {
		const net: Record<string, unknown> = { subnet: `${lan.base}.0/24` };
		const owner = routers.find((x) => x.a === lan || x.b === lan);
		if (r.chance(0.6)) net.gateway = owner && r.chance(0.6) ? `${lan.base}.${owner.index}` : `${lan.base}.254`;
		if (r.chance(0.2)) net.role = 'private';
		if (net.gateway && r.chance(0.3)) net.masquerade = true;
		networks[lan.name] = net;
	}
	for (const router of routers) {
		const node: Node = {
			kind: 'router',
			interfaces: {
				[router.a.name]: `${router.a.base}.${router.index}`,
				[router.b.name]: `${router.b.base}.${router.index}`,
			},
		};
		if (r.chance(0.5)) {
			// Static routes, sometimes to where nothing leads, sometimes only one way.
			const others = lans.filter((l) => l !== router.a && l !== router.b);
			node.routes = r
				.some(others, 0.5)
				.map((l) => `${l.base}.0/24 via ${r.pick([router.a, router.b]).base}.${r.pick(routers).index}`)
				.filter((route) => !route.endsWith(`.${router.index}`));
		}
		if (r.chance(0.3)) node.snat = [router.a.name];
		nodes[router.name] = node;
	}
	let hostCount = 0;
	for (const lan of lans) {
		for (let i = 0; i < r.int(1, 2); i++) {
			const name = `h${hostCount++}`;
			const node: Node = {
				kind: r.pick(['host', 'vm', 'neighbour']),
				on: lan.name,
				address: `${lan.base}.${lan.hosts++}`,
			};
			if (r.chance(0.25)) node.security_group = r.some(RULES, 0.4);
			const services = r.some(['sshd', 'calculator'], 0.35);
			if (services.length) node.services = services;
			if (r.chance(0.15)) node.routes = [];
			nodes[name] = node;
		}
	}
	const hosts = Object.keys(nodes).filter((n) => /^h\d/.test(n));
	// NAT VMs behind some hosts, with forwards to their services.
	for (const [i, via] of r.some(hosts, 0.35).slice(0, 2).entries()) {
		const vm: Node = { kind: 'vm', nat: via };
		if (r.chance(0.6)) vm.services = ['sshd'];
		if (r.chance(0.6)) vm.forward = r.some(['2222:22', '8022:2222', '50000:22'], 0.6);
		if ((nodes[via].services as string[] | undefined)?.includes('calculator'))
			vm.forward = (vm.forward as string[] | undefined)?.filter((f) => !f.startsWith('50000:'));
		nodes[`nat${i}`] = vm;
	}
	// A floating IP on a router for a host behind it.
	const floatRouter = routers.find(() => r.chance(0.4));
	const floatable = floatRouter ? hosts.filter((h) => nodes[h].on === floatRouter.a.name) : [];
	const floatingIp = floatRouter ? `${floatRouter.b.base}.${200 + floatRouter.index}` : undefined;
	if (floatRouter && floatable.length && r.chance(0.5))
		nodes[floatRouter.name].floating = { [floatingIp!]: r.pick(floatable) };

	const names = Object.keys(nodes);
	const probes = ['"ping * -> *": auto', '"tcp * -> *:22": auto'];
	if (names.some((n) => (nodes[n].services as string[] | undefined)?.includes('calculator')))
		probes.push('"http * -> *": auto');
	if (names.some((n) => (nodes[n].forward as string[] | undefined)?.length))
		probes.push('"tcp * -> *:2222": auto', '"tcp * -> *:8022": auto');
	const expect = probes.map((p) => JSON.parse(`{${p.replace(/: auto$/, ': "auto"')}}`));
	const linkDown = new Set<string>();
	const defaults = new Set<string>();
	const deleted = new Set<string>();
	let floated: string | undefined; // who holds the floating IP after the steps so far ('' nobody, undefined: as built)
	const steps = Array.from({ length: r.int(0, 2) }, (_, k) => {
		const actions: string[] = [];
		for (let j = 0; j < r.int(1, 2); j++) {
			const target = r.pick(names.filter((n) => n !== 'internet'));
			const node = nodes[target];
			const choices: string[] = [];
			if (node.security_group)
				choices.push(`${r.pick(RULES)} to ${target}`, `revoke ${r.pick(RULES).slice(6)} to ${target}`);
			if (node.on && !node.nat) choices.push(`link down ${target} ${node.on}`);
			const net = node.on ? lans.find((l) => l.name === node.on) : undefined;
			// A default route to delete: the node's own (a gateway on its LAN, no `routes: []`) or one a step added;
			// never after a link went down.
			const hasDefault =
				(networks[node.on as string]?.gateway && !node.routes && !deleted.has(target)) || defaults.has(target);
			if (net && hasDefault && !linkDown.has(target)) choices.push(`route del ${target} default`);
			if (net && !linkDown.has(target))
				choices.push(`route add ${target} default via ${net.base}.${r.pick([254, ...routers.map((x) => x.index)])}`);
			for (const s of (node.services as string[] | undefined) ?? []) choices.push(`service stop ${target} ${s}`);
			if (floatRouter && floatable.length) {
				const fip =
					floatRouter && (nodes[floatRouter.name].floating as Record<string, string> | undefined)?.[floatingIp!];
				const holder = floated === undefined ? fip : floated || undefined;
				if (holder) choices.push(`unfloat ${holder}`);
				else choices.push(`float ${r.pick(floatable)} ${floatingIp}`);
			}
			if (choices.length) {
				const chosen = r.pick(choices);
				if (actions.includes(chosen)) continue;
				actions.push(chosen);
				if (chosen.startsWith('link down')) linkDown.add(target);
				if (chosen.startsWith('float ')) floated = chosen.split(' ')[1];
				if (chosen.startsWith('unfloat ')) floated = '';
				if (chosen.startsWith('route add')) defaults.add(target);
				if (chosen.startsWith('route del')) {
					defaults.delete(target);
					deleted.add(target);
				}
			}
		}
		return { name: `step ${k + 1}`, do: actions, expect };
	}).filter((s) => s.do.length > 0);
	addUdp(r, nodes, expect);
	const data = { name: `differential ${seed}`, networks, nodes, expect, ...(steps.length ? { steps } : {}) };
	return { seed, text: `# labcheck differential, seed ${seed}\n${stringify(data)}`, docker: false };
}

/**
 * UDP: echo and dns services on some hosts, a UDP forward to a NAT VM's dns, and checks of both, including the NAT
 * engines' resolvers. Drawn last, so the rest of a seed's lab is what it was before UDP existed.
 */
function addUdp(r: ReturnType<typeof random>, nodes: Record<string, Node>, expect: Array<Record<string, string>>) {
	const natHosts = new Set(Object.values(nodes).flatMap((n) => (typeof n.nat === 'string' ? [n.nat] : [])));
	const services = (n: Node) => (n.services as string[] | undefined) ?? [];
	for (const [name, node] of Object.entries(nodes)) {
		if (!/^h\d/.test(name) || !r.chance(0.35)) continue;
		const service = natHosts.has(name) ? 'echo' : r.pick(['echo', 'dns']);
		node.services = [...services(node), service];
	}
	for (const [name, node] of Object.entries(nodes)) {
		if (!/^nat\d/.test(name)) continue;
		if (r.chance(0.5)) {
			node.services = [...services(node), 'dns'];
			node.forward = [...((node.forward as string[] | undefined) ?? []), '5353:53/udp'];
		}
		if (r.chance(0.7)) expect.push({ [`dns ${name} -> 10.0.2.3`]: 'auto' });
	}
	const all = Object.values(nodes);
	if (all.some((n) => services(n).includes('echo'))) expect.push({ 'udp * -> *:7': 'auto' });
	if (all.some((n) => services(n).includes('dns'))) expect.push({ 'dns * -> *': 'auto' });
	if (all.some((n) => (n.forward as string[] | undefined)?.includes('5353:53/udp')))
		expect.push({ 'dns * -> *:5353': 'auto' });
}

/**
 * A random Docker lab: containers on docker0, user-defined and internal networks, published ports, services, stop and
 * start.
 */
export function randomDockerTopology(seed: number): Topology {
	const r = random(seed);
	const nodes: Record<string, Node> = {
		internet: { kind: 'internet' },
		host: { kind: 'host', on: 'room', address: '10.1.5.22' },
		neighbour: { kind: 'neighbour', on: 'room', address: '10.1.5.39' },
		vm: r.chance(0.5)
			? { kind: 'vm', nat: 'host', forward: ['8080:8080'] }
			: { kind: 'vm', on: 'room', address: '10.1.5.40' },
	};
	const networks: Record<string, Record<string, unknown>> = { room: { subnet: '10.1.0.0/16', gateway: '10.1.0.254' } };
	const dockerNets = r.some(['back', 'vault'], 0.5);
	for (const [i, net] of dockerNets.entries())
		networks[net] = { subnet: `172.${20 + i}.0.0/16`, docker: 'vm', ...(net === 'vault' ? { internal: true } : {}) };
	let published = 8080;
	for (let i = 0; i < r.int(1, 3); i++) {
		const ct: Node = { kind: 'container', docker: 'vm' };
		if (dockerNets.length && r.chance(0.5)) ct.on = r.pick(dockerNets);
		if (r.chance(0.5)) ct.services = ['sshd'];
		if (r.chance(0.5)) ct.publish = [`${published++}:${r.pick([22, 80])}`];
		nodes[`c${i}`] = ct;
	}
	const containers = Object.keys(nodes).filter((n) => n.startsWith('c'));
	const expect: Array<Record<string, string>> = [
		{ 'ping * -> *': 'auto' },
		{ 'tcp * -> *:22': 'auto' },
		{ 'tcp * -> vm:8080': 'auto' },
		{ 'tcp * -> vm:8081': 'auto' },
	];
	const steps = r.chance(0.5) ? [{ name: 'stop a container', do: [`stop ${r.pick(containers)}`], expect }] : [];
	// UDP, drawn last (the rest of a seed's lab is what it was before): a dns or echo service in a container, published
	// as UDP 5353 on the VM, and the udp and dns checks of the lab.
	const udp = containers.filter(() => r.chance(0.4));
	for (const [i, name] of udp.entries()) {
		const service = r.pick(['dns', 'echo']);
		nodes[name].services = [...((nodes[name].services as string[] | undefined) ?? []), service];
		if (i === 0)
			nodes[name].publish = [...((nodes[name].publish as string[]) ?? []), `5353:${service === 'dns' ? 53 : 7}/udp`];
	}
	if (udp.length) expect.push({ 'udp * -> *:7': 'auto' }, { 'dns * -> *': 'auto' }, { 'udp * -> vm:5353': 'auto' });
	const data = { name: `differential docker ${seed}`, networks, nodes, expect, ...(steps.length ? { steps } : {}) };
	return { seed, text: `# labcheck differential (Docker), seed ${seed}\n${stringify(data)}`, docker: true };
}
