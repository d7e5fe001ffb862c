// One line per unreachable (or failed) result: why, in the lab's terms, from the plan and what the probe saw.
import type { ProbeResult } from '../../probes/types.js';
import { contains, parseCidr } from '../net/ipv4.js';
import { floatingOf } from '../plan/apply.js';
import { nodeByName, ownerOf, type Plan, type PlanCheck, type SecurityRule } from '../plan/types.js';

/** `absent`: containers not running at this point of the scenario (never started, stopped, removed). */
export function explain(
	plan: Plan,
	check: PlanCheck,
	result: ProbeResult,
	passed: boolean,
	absent: ReadonlySet<string> = new Set(),
): string | undefined {
	if (check.probe === 'exec') return passed ? undefined : `${check.options.command} on ${check.from}: ${result.detail}`;
	const { to, from } = check;
	const target = `${to.address}${to.port ? `:${to.port}` : ''}`;
	if (absent.has(from)) return `${from} is not running at this step, so it sends nothing`;
	if (to.node && absent.has(to.node))
		return `${to.node} is not running at this step (stopped, removed or not started yet)`;
	const published = publishedAt(plan, to.address, to.port);
	if (result.status === 'ok' && published) {
		return `${published.engine} publishes ${published.p.proto} ${published.p.hostPort} to ${published.container} ${published.address}:${published.p.containerPort} (docker run -p)${result.seenFrom ? `; ${published.container} saw the connection come from ${result.seenFrom}` : ''}`;
	}
	if (result.status === 'ok') {
		if (result.mismatch) return `${target} answered, but ${result.mismatch}`;
		if (check.expect === 'unreachable')
			return `${target} answered although the scenario expects it unreachable: ${result.detail}`;
		const forward = forwardAt(plan, to.address, to.port, check.probe);
		const via = forward
			? `${forward.host} forwards ${forward.f.proto} ${forward.f.hostPort} to ${forward.f.guest} ${forward.f.guestAddress}:${forward.f.guestPort}`
			: undefined;
		if (result.seenFrom && via)
			return `${via}; ${forward!.f.guest} saw the connection come from ${result.seenFrom} (the NAT engine), not from ${from}`;
		if (via) return via;
		const fromNode = nodeByName(plan, from);
		if (fromNode?.container && !sharesNetwork(plan, from, to.address)) {
			const nat = natHostOf(plan, fromNode.container.engine);
			return `${from}'s packets are masqueraded by Docker on ${fromNode.container.engine}${nat ? `, then by ${nat.host}'s NAT` : ''}`;
		}
		const natOf = natHostOf(plan, from);
		if (natOf && to.node !== natOf.host && !sharesNetwork(plan, from, to.address))
			return `${from}'s packets leave through ${natOf.host}'s NAT engine, which rewrites their source to ${natOf.host}'s address`;
		return undefined;
	}
	const cloud = explainCloud(plan, check, result);
	if (cloud) return cloud;
	const fromNode = nodeByName(plan, from);
	const fromNet = fromNode?.container
		? plan.networks.find((n) => n.name === fromNode.interfaces[0]?.network)
		: undefined;
	if (fromNet?.internal && !sharesNetwork(plan, from, to.address)) {
		return `${from} is on ${fromNet.name}, an internal Docker network (--internal): Docker gives it no way out of ${fromNet.subnet}`;
	}
	const docker = dockerNetworkOwning(plan, to.address);
	if (docker && fromNode?.container?.engine === docker.engine && !sharesNetwork(plan, from, to.address)) {
		return `${from} and ${to.node ?? to.address} are on different Docker networks of ${docker.engine}; Docker isolates its bridge networks from one another (DOCKER-ISOLATION rules drop the traffic)`;
	}
	if (docker && from !== docker.engine && !sharesNetwork(plan, from, to.address)) {
		const nat = natHostOf(plan, docker.engine);
		return `${to.address} is on ${docker.engine}'s Docker network ${docker.name} (${docker.subnet}): Docker's NAT hides it inside ${docker.engine}${nat ? `, which itself sits behind ${nat.host}'s NAT` : ''}, so ${from} has no route there; publish a port (-p) to reach it`;
	}
	const behind = natEngineOwning(plan, to.address);
	if (behind && from !== behind.guest) {
		const f = nodeByName(plan, behind.host)!.nat.flatMap((n) => n.forwards)[0];
		const tail =
			f && check.probe === 'ping'
				? `; ${behind.host}'s port forward (${f.proto} ${f.hostPort} → ${f.guest}:${f.guestPort}) carries that TCP port only, not ICMP`
				: '';
		if (from === behind.host) {
			return `${to.address} lives inside ${behind.host}'s NAT engine (VirtualBox NAT), not on a ${behind.host} interface: ${behind.host} has no route to ${behind.subnet}, its packets go to its default gateway and are lost${tail}`;
		}
		return `${to.address} is behind ${behind.host}'s NAT: ${behind.subnet} is private to it, so ${from} has no route there (and every NAT VM is ${to.address})${tail}`;
	}
	const forward = forwardAt(plan, to.address, undefined, check.probe);
	if (forward && check.probe === 'ping') {
		return `${to.address}:${forward.f.hostPort} is a ${forward.f.proto} port forward; ICMP is not forwarded`;
	}
	const owner = ownerOf(plan, to.address);
	switch (result.status) {
		case 'refused':
			return `${to.address} answered with a TCP reset: nothing listens on port ${to.port}${owner ? ` of ${owner.node.name}` : ''}`;
		case 'no-route':
			return `${from} has no route to ${to.address}`;
		case 'unreachable':
			return `${result.detail}${passed ? '' : ` — expected ${check.expect}`}`;
		case 'filtered':
			return `packets from ${from} to ${target} were dropped silently (no answer within the timeout)`;
		default:
			return result.detail;
	}
}

function natEngineOwning(plan: Plan, address: string) {
	for (const host of plan.nodes) {
		for (const nat of host.nat) {
			const guest = nodeByName(plan, nat.guest)!;
			if (guest.interfaces.some((i) => i.network === nat.network && i.address === address))
				return { host: host.name, guest: nat.guest, subnet: nat.subnet };
		}
	}
	return undefined;
}

function natHostOf(plan: Plan, guest: string) {
	for (const host of plan.nodes) if (host.nat.some((n) => n.guest === guest)) return { host: host.name };
	return undefined;
}

function forwardAt(plan: Plan, address: string, port: number | undefined, probe: string) {
	const owner = ownerOf(plan, address);
	if (!owner) return undefined;
	const forwards = owner.node.nat.flatMap((n) => n.forwards);
	const f =
		port === undefined ? (probe === 'ping' ? forwards[0] : undefined) : forwards.find((x) => x.hostPort === port);
	return f ? { host: owner.node.name, f } : undefined;
}

function sharesNetwork(plan: Plan, from: string, address: string): boolean {
	const node = nodeByName(plan, from);
	return Boolean(
		node?.interfaces.some((i) => contains(parseCidr(plan.networks.find((n) => n.name === i.network)!.subnet), address)),
	);
}

function dockerNetworkOwning(plan: Plan, address: string) {
	const net = plan.networks.find((n) => n.engine && contains(parseCidr(n.subnet), address));
	return net ? { name: net.name.replace(`${net.engine}-`, ''), engine: net.engine!, subnet: net.subnet } : undefined;
}

function publishedAt(plan: Plan, address: string, port: number | undefined) {
	if (port === undefined) return undefined;
	const engine = ownerOf(plan, address)?.node;
	if (!engine?.engine) return undefined;
	for (const node of plan.nodes) {
		const p =
			node.container?.engine === engine.name ? node.container.publish.find((x) => x.hostPort === port) : undefined;
		if (p) return { engine: engine.name, container: node.name, address: node.interfaces[0].address, p };
	}
	return undefined;
}

const PROTO: Record<string, 'icmp' | 'tcp'> = { ping: 'icmp', tcp: 'tcp', http: 'tcp', ssh: 'tcp' };

function ruleAllows(rule: SecurityRule, proto: string, port: number | undefined, source: string | undefined): boolean {
	if (rule.proto !== 'any' && rule.proto !== proto) return false;
	if (rule.ports && (port === undefined || port < rule.ports[0] || port > rule.ports[1])) return false;
	return source === undefined || contains(parseCidr(rule.from), source);
}

/** Routers, floating IPs, security groups and static routes: the causes the cloud labs turn on. */
function explainCloud(plan: Plan, check: PlanCheck, result: ProbeResult): string | undefined {
	const { from, to } = check;
	const proto = PROTO[check.probe];
	const target = to.node ? nodeByName(plan, to.node) : undefined;
	const fromNode = nodeByName(plan, from);
	const floatingNow = to.node ? floatingOf(plan, to.node) : undefined;
	if (to.label.endsWith('@floating') && floatingNow?.address !== to.address) {
		return `no floating IP is associated with ${to.node} at this step: nothing answers for ${to.address}`;
	}
	const owner = ownerOf(plan, to.address);
	const hidden =
		owner && plan.nodes.find((r) => r.masquerade.some((m) => m.notOut && m.notOut === owner.iface.network));
	if (hidden && !sharesNetwork(plan, from, to.address)) {
		return `${to.address} is a private address on ${owner!.iface.network}, hidden behind ${hidden.name}'s SNAT: nothing outside routes to it — reach ${owner!.node.name} through a floating IP`;
	}
	const stuck = firstHopWithoutRoute(plan, from, to.address);
	if (stuck) {
		const routes =
			nodeByName(plan, stuck)!
				.routes.map((r) => `${r.to} via ${r.via}`)
				.join(', ') || 'none';
		return `${stuck === from ? from : `${stuck}, on the way from ${from},`} has no route to ${to.address} (its static routes: ${routes})`;
	}
	const source = fromNode?.interfaces[0]?.address;
	// Only when the source address survives the way there: SNAT, masquerade or a NAT engine change the way back.
	const translated =
		source !== undefined &&
		(Boolean(fromNode?.container) ||
			Boolean(natHostOf(plan, from)) ||
			plan.nodes.some((n) => n.masquerade.some((m) => contains(parseCidr(m.from), source))));
	const back = target && source && !translated ? firstHopWithoutRoute(plan, target.name, source) : undefined;
	if (back && result.status === 'filtered') {
		return `the request reaches ${to.node}, but ${back === to.node ? to.node : `${back}, on its way back,`} has no route back to ${source}: the reply is lost`;
	}
	if (target?.security && proto) {
		const source = fromNode?.interfaces[0]?.address;
		const viaFloat = floatingNow?.address === to.address;
		const seenAs = viaFloat ? source : undefined;
		if (!target.security.some((r) => ruleAllows(r, proto, to.port, seenAs))) {
			const port = proto === 'tcp' && to.port ? `/${to.port}` : '';
			return `${to.node}'s security group allows no ${proto}${port} ingress${seenAs ? ` from ${seenAs}` : ''} (default deny ingress); a rule such as "allow ${proto}${port} from 0.0.0.0/0" opens it`;
		}
	}
	if (
		fromNode?.security &&
		proto === 'icmp' &&
		!fromNode.security.some((r) => ruleAllows(r, 'icmp', undefined, undefined))
	) {
		return `${to.address}'s echo reply enters ${from} as ICMP ingress, and ${from}'s security group has no ICMP rule (default deny ingress; labcheck's groups track TCP and UDP connections, not ICMP, as the course's OpenStack behaved)`;
	}
	return undefined;
}

/** Follows static and connected routes from `from` toward `address`; the first node with no route, if any. */
function firstHopWithoutRoute(plan: Plan, from: string, address: string): string | undefined {
	let node = nodeByName(plan, from);
	for (let hop = 0; node && hop < 16; hop++) {
		if (sharesNetwork(plan, node.name, address) || node.floating.some((f) => f.address === address)) return undefined;
		const candidates = node.routes.filter((r) => r.to === 'default' || contains(parseCidr(r.to), address));
		if (candidates.length === 0) return node.kind === 'internet' ? undefined : node.name;
		const best = candidates.sort((a, b) => prefixOf(b.to) - prefixOf(a.to))[0];
		node = ownerOf(plan, best.via)?.node;
	}
	return undefined;
}

const prefixOf = (to: string) => (to === 'default' ? 0 : parseCidr(to).prefix);
