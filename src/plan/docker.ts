// Docker in the plan: engines, their docker0 and user-defined networks, containers with fixed addresses.
import { hostAt, parseCidr } from '../net/ipv4.js';
import type { ScenarioNode } from '../scenario/schema.js';
import { didYouMean } from '../scenario/suggest.js';
import type { PlanContext } from './context.js';
import { parsePortSpec } from './ports.js';
import type { PlanNode, PlanPublish } from './types.js';

export const DOCKER0 = { subnet: '172.17.0.0/16', gateway: '172.17.0.1' };
export const BASE_IMAGE = 'labcheck/base';

export function planContainers(context: PlanContext, declared: Array<[string, ScenarioNode]>): void {
	const { problems, nodes, networks, addNetwork, attach } = context;
	const engineOf = (name: string, path: Array<string | number>) => {
		const engine = nodes.get(name);
		if (!engine) problems.add(path, `unknown node "${name}" as Docker engine`, didYouMean(name, nodes.keys()));
		else if (engine.container) problems.add(path, `"${name}" is a container; containers run on a host or VM node`);
		else return engine;
		return undefined;
	};
	const defaultNetwork = (engine: PlanNode) => {
		const name = `${engine.name}-docker0`;
		if (!networks.has(name)) {
			const net = addNetwork(name, DOCKER0.subnet, 'docker', DOCKER0.gateway);
			net.engine = engine.name;
			attach(engine, name, DOCKER0.gateway, ['nodes', engine.name]);
			engine.interfaces.at(-1)!.ifname = 'docker0';
			engine.engine = true;
			engine.forwarding = true;
		}
		return name;
	};
	for (const [netName, spec] of Object.entries(problems.loaded.scenario.networks ?? {})) {
		if (!spec.docker) continue;
		const engine = engineOf(spec.docker, ['networks', netName, 'docker']);
		const net = networks.get(netName)!;
		if (!engine) continue;
		net.engine = engine.name;
		net.role = 'docker';
		net.internal = spec.internal;
		net.gateway ??= hostAt(parseCidr(net.subnet), 1);
		defaultNetwork(engine);
		attach(engine, netName, net.gateway, ['networks', netName, 'gateway']);
		engine.interfaces.at(-1)!.ifname = `br-${netName}`.slice(0, 15);
	}
	for (const [name, spec] of declared) {
		const path = ['nodes', name];
		if (!spec.docker) {
			for (const key of ['image', 'publish', 'start'] as const) {
				if (spec[key] !== undefined)
					problems.add(
						[...path, key],
						`\`${key}\` is for containers`,
						`add \`docker: <node>\` to say whose Docker engine runs ${name}`,
						true,
					);
			}
			continue;
		}
		const node = nodes.get(name)!;
		if (spec.kind !== 'container')
			problems.add([...path, 'kind'], `a node with \`docker\` is a container, not a ${spec.kind}`, 'kind: container');
		const engine = engineOf(spec.docker, [...path, 'docker']);
		if (!engine) continue;
		node.container = {
			engine: engine.name,
			image: spec.image ?? BASE_IMAGE,
			publish: publishes(spec.publish ?? []),
			start: spec.start ?? true,
			running: spec.start ?? true,
		};
		const network = spec.on ?? defaultNetwork(engine);
		if (spec.on && networks.get(spec.on)?.engine !== engine.name) {
			problems.add(
				[...path, 'on'],
				`"${spec.on}" is not a Docker network of ${engine.name}`,
				`declare it with \`docker: ${engine.name}\`, or leave \`on\` out for docker0`,
			);
			continue;
		}
		defaultNetwork(engine);
		attach(node, network, spec.address, [...path, spec.on ? 'on' : 'docker'], 2);
	}
}

function publishes(specs: Array<string | { host: number; guest: number; proto?: 'tcp' | 'udp' }>): PlanPublish[] {
	return specs
		.map(parsePortSpec)
		.map(({ proto, hostPort, guestPort }) => ({ proto, hostPort, containerPort: guestPort }));
}
