// The scenario format, as one Zod schema: it validates files and is exported as JSON Schema for editors.
import * as z from 'zod';
import { optionShapes } from '../../probes/index.js';
import { text } from './text.js';

export const NODE_KINDS = ['host', 'vm', 'container', 'neighbour', 'internet', 'router'] as const;
export const NETWORK_ROLES = ['lan', 'nat', 'bridge', 'host-only', 'private', 'wan'] as const;
export const SERVICE_NAMES = ['sshd', 'calculator', 'sum', 'sub', 'mul', 'div', 'dns', 'echo'] as const;
export const OUTCOMES = ['reachable', 'unreachable', 'auto', 'succeeds', 'fails'] as const;

// Free text is printed to terminals and reports: no control characters (an escape sequence in a
// downloaded scenario could rewrite the screen); newlines and tabs are fine.
const about = text().describe('One sentence shown in the report.').optional();
const name = z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, {
	error: 'names are 1-20 characters: lower-case letters, digits and "-", starting with a letter',
});
const port = z.int().min(1, { error: 'ports are 1-65535' }).max(65535, { error: 'ports are 1-65535' });
const ipv4 = z.ipv4({ error: 'expected an IPv4 address such as 10.1.5.22' });
/** A Docker image reference: lower-case path components, an optional tag; never a file path. */
export const IMAGE_NAME =
	/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?$/;
const imageName = z
	.string()
	.max(255)
	.regex(IMAGE_NAME, { error: 'expected a Docker image name such as labcheck/base or ct2-snapshot:v1' });
const cidr = z.cidrv4({ error: 'expected a subnet in CIDR form such as 10.1.0.0/16' });

export const networkSchema = z.strictObject({
	subnet: cidr.describe('The network, e.g. 10.1.0.0/16.'),
	gateway: ipv4.describe('Default gateway of the nodes on this network.').optional(),
	role: z.enum(NETWORK_ROLES).describe('What the network stands for in the lab.').optional(),
	masquerade: z
		.boolean()
		.describe('The gateway hides this network behind its own address toward the internet.')
		.optional(),
	docker: text().describe("A user-defined Docker bridge network in this node's Docker engine.").optional(),
	internal: z
		.boolean()
		.describe('Docker: an internal network has no way out (docker network create --internal).')
		.optional(),
	about,
});

export const forwardSchema = z.union(
	[
		z.string().regex(/^\d{1,5}:\d{1,5}(\/(tcp|udp))?$/, {
			error: 'expected "HOSTPORT:GUESTPORT" such as "1234:22" or "1234:22/tcp"',
		}),
		z.strictObject({ host: port, guest: port, proto: z.enum(['tcp', 'udp']).optional() }),
	],
	{ error: 'expected "HOSTPORT:GUESTPORT" such as "1234:22", or { host, guest, proto }' },
);

export const serviceSchema = z.union(
	[z.enum(SERVICE_NAMES), z.strictObject({ name: z.enum(SERVICE_NAMES), port: port.optional() })],
	{ error: `expected a service name (${SERVICE_NAMES.join(', ')}) or { name, port }` },
);

export const nodeSchema = z.strictObject({
	kind: z.enum(NODE_KINDS).describe('What the node stands for in the lab.'),
	about,
	on: text().describe('The network the node is plugged into.').optional(),
	address: ipv4.describe('Its address on that network (allocated when omitted).').optional(),
	interfaces: z.record(text(), ipv4).describe('Several networks: { network: address }.').optional(),
	gateway: ipv4.describe('Overrides the default gateway.').optional(),
	nat: z
		.union([text(), z.strictObject({ via: text(), subnet: cidr.optional() })])
		.describe("VirtualBox NAT: the node sits behind this node's NAT engine at 10.0.2.15, gateway 10.0.2.2.")
		.optional(),
	bridge: text().describe('VirtualBox bridged adapter: the node joins this network like another PC.').optional(),
	forward: z.array(forwardSchema).describe('Port forwards of the NAT engine: "HOSTPORT:GUESTPORT".').optional(),
	services: z.array(serviceSchema).describe('Services labcheck starts on the node.').optional(),
	docker: text().describe('Container: the node whose Docker engine runs it (its docker0 is 172.17.0.1/16).').optional(),
	image: imageName.describe('Container: the image (default labcheck/base, built locally from busybox).').optional(),
	publish: z
		.array(forwardSchema)
		.describe('Container: published ports "HOSTPORT:CONTAINERPORT", as docker run -p.')
		.optional(),
	start: z.boolean().describe('Container: start with the lab (default true); false for one a step starts.').optional(),
	routes: z
		.array(
			z.string().regex(/^(default|\d+\.\d+\.\d+\.\d+\/\d+)\s+via\s+\d+\.\d+\.\d+\.\d+$/, {
				error: 'expected "SUBNET via GATEWAY" or "default via GATEWAY"',
			}),
		)
		.describe('Static routes: "192.168.2.0/24 via 192.168.1.254", "default via 192.168.1.253".')
		.optional(),
	security_group: z
		.array(text())
		.describe(
			'OpenStack-style security group: ingress denied but for these rules, e.g. "allow tcp/22 from 0.0.0.0/0". ' +
				'[] is the default group.',
		)
		.optional(),
	snat: z
		.array(text())
		.describe('Router: hide these networks behind its own address on its other networks (tenant SNAT).')
		.optional(),
	floating: z
		.record(text(), text())
		.describe('Router: floating IPs, { "192.168.37.60": vm } — 1:1 NAT to the node\'s private address.')
		.optional(),
});

export const actionSchema = z.union([text(), z.strictObject({ action: text(), expect: z.enum(['ok', 'refused']) })], {
	error: 'expected an action such as "stop ct2", or { action: "remove ct2", expect: refused }',
});

export const probeOptionsSchema = z.strictObject({
	expect: z.enum(OUTCOMES),
	// What each probe reads: probes/ (the registry); `command` is also where an exec line's command is kept.
	...optionShapes(),
});

export const expectationSchema = z
	.record(
		text().describe('"PROBE FROM -> TO[:PORT]", e.g. "ping vm -> internet"'),
		z.union([z.enum(OUTCOMES), probeOptionsSchema], {
			error: 'expected reachable, unreachable, or { expect: reachable, ... }',
		}),
	)
	.refine((o) => Object.keys(o).length === 1, { error: 'each expectation is one line: "ping vm -> host: reachable"' });

export const stepSchema = z.strictObject({
	name: text().min(1).describe('What this step does, as a heading of the report.'),
	do: z
		.array(actionSchema)
		.describe('Changes to the lab, in order: commit, stop, start, remove, run, exec, build.')
		.optional(),
	expect: z.array(expectationSchema).describe('What the lab should give after the changes.').optional(),
});

export const imageSchema = z.strictObject({
	dockerfile: text().describe('The recipe: a Dockerfile, inline or a path relative to the scenario.'),
});

export const scenarioSchema = z.strictObject({
	$schema: text().optional(),
	name: text().min(1).describe('Title of the lab.'),
	about,
	networks: z.record(name, networkSchema).optional(),
	nodes: z.record(name, nodeSchema).describe('The machines of the lab.'),
	expect: z.array(expectationSchema).describe('Probes and the outcome the lab should give.').optional(),
	images: z.record(imageName, imageSchema).describe('Docker images built from a recipe (Dockerfile).').optional(),
	steps: z
		.array(stepSchema)
		.describe('Changes made one after another, each followed by its own expectations.')
		.optional(),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioNode = z.infer<typeof nodeSchema>;
export type ScenarioNetwork = z.infer<typeof networkSchema>;

export function jsonSchema(): object {
	return {
		...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
		$id: 'https://labcheck.dev/labcheck.schema.json',
		title: 'labcheck scenario',
	};
}
