// Services of the plan: default ports, and the calculator's peers taken from where the operation services run.
import type { Problems } from './context.js';
import { nodeByName, type Plan, type PlanService, type ServiceName } from './types.js';

export const DEFAULT_PORTS: Record<ServiceName, number> = {
	sshd: 22,
	calculator: 50000,
	sum: 50001,
	sub: 50002,
	mul: 50003,
	div: 50004,
	dns: 53,
	echo: 7,
};
/** Services that answer UDP; the others listen on TCP. */
export const UDP_SERVICE_NAMES: ServiceName[] = ['dns', 'echo'];
export const OPERATIONS = ['sum', 'sub', 'mul', 'div'] as const;

export function buildServices(problems: Problems, plan: Plan): void {
	for (const [name, spec] of Object.entries(problems.loaded.scenario.nodes)) {
		const node = nodeByName(plan, name)!;
		for (const [i, entry] of (spec.services ?? []).entries()) {
			const service: PlanService =
				typeof entry === 'string'
					? { name: entry, port: DEFAULT_PORTS[entry] }
					: { name: entry.name, port: entry.port ?? DEFAULT_PORTS[entry.name] };
			if (UDP_SERVICE_NAMES.includes(service.name)) service.proto = 'udp';
			const clash = node.services.find(
				(s) => s.name === service.name || (s.port === service.port && (s.proto ?? 'tcp') === (service.proto ?? 'tcp')),
			);
			if (clash?.auto)
				problems.add(
					['nodes', name, 'services', i],
					`${name} already answers DNS on port ${clash.port}: its NAT engine's resolver at ${clash.address}`,
					'the NAT guest asks 10.0.2.3 already; run dns on another node, or give it another port',
				);
			else if (clash)
				problems.add(['nodes', name, 'services', i], `${name} already runs ${clash.name} on port ${clash.port}`);
			else node.services.push(service);
		}
	}
	// Operation services the scenario places; a calculator without one brings its own, on its loopback
	// (each calculator its own: a second calculator never borrows the first one's).
	const declared = new Map(OPERATIONS.map((op) => [op, plan.nodes.find((n) => n.services.some((s) => s.name === op))]));
	const runs = (op: ServiceName) => declared.get(op as (typeof OPERATIONS)[number]);
	for (const node of plan.nodes) {
		const calculator = node.services.find((s) => s.name === 'calculator');
		if (!calculator) continue;
		calculator.peers = {};
		for (const op of OPERATIONS) {
			// A calculator with no operation service in the lab brings its own, on loopback.
			let where = runs(op);
			if (!where) {
				node.services.push({ name: op, port: DEFAULT_PORTS[op] });
				where = node;
			}
			const port = where.services.find((s) => s.name === op)!.port;
			const address = where === node ? '127.0.0.1' : where.interfaces[0].address;
			calculator.peers[op] = `${address}:${port}`;
		}
	}
}
