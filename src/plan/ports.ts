// Ports a lab cannot have: a forward or published port that is out of range, taken twice on one
// node, or taken by a service of that node (VirtualBox and Docker both refuse to bind those).
import type { Problems } from './context.js';
import { nodeByName, type Plan } from './types.js';

type PortSpec = string | { host: number; guest: number; proto?: 'tcp' | 'udp' };

/** "1234:22/udp" or { host, guest, proto } → its parts. */
export function parsePortSpec(spec: PortSpec): { hostPort: number; guestPort: number; proto: 'tcp' | 'udp' } {
	if (typeof spec !== 'string') return { hostPort: spec.host, guestPort: spec.guest, proto: spec.proto ?? 'tcp' };
	const m = /^(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec)!;
	return { hostPort: Number(m[1]), guestPort: Number(m[2]), proto: (m[3] ?? 'tcp') as 'tcp' | 'udp' };
}

/** Checks every `forward` and `publish` of the scenario against ranges, each other and the owning node's services. */
export function checkPorts(problems: Problems, plan: Plan): void {
	const bound = new Map<string, string>(); // "node/proto/port" → what binds it
	const bind = (owner: string, proto: string, port: number, what: string, path: Array<string | number>) => {
		const key = `${owner}/${proto}/${port}`;
		const taken = bound.get(key);
		if (taken)
			problems.add(
				path,
				`${owner}'s ${proto} port ${port} is already taken by ${taken}`,
				'each host port can be bound once: pick another',
			);
		else bound.set(key, what);
	};
	for (const node of plan.nodes) {
		// A service on one inner address (a NAT engine's resolver) leaves the port free on the node's other addresses.
		for (const s of node.services.filter((x) => !x.address))
			bound.set(`${node.name}/${s.proto ?? 'tcp'}/${s.port}`, `its ${s.name} service`);
	}
	for (const [name, spec] of Object.entries(problems.loaded.scenario.nodes)) {
		for (const key of ['forward', 'publish'] as const) {
			for (const [i, entry] of (spec[key] ?? []).entries()) {
				const path = ['nodes', name, key, i];
				const { hostPort, guestPort, proto } = parsePortSpec(entry);
				const bad = [hostPort, guestPort].find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
				if (bad !== undefined) {
					problems.add(path, `port ${bad} is out of range`, 'ports are 1-65535');
					continue;
				}
				const owner =
					key === 'forward'
						? plan.nodes.find((n) => n.nat.some((e) => e.guest === name))?.name
						: nodeByName(plan, name)?.container?.engine;
				if (!owner) continue; // reported where the NAT or the engine is missing
				bind(owner, proto, hostPort, key === 'forward' ? `a forward to ${name}` : `${name}'s published port`, path);
			}
		}
	}
}
