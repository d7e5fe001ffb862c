// An inventory says how to reach each node of a real lab: the same scenario, run on machines that exist.
//   nodes:
//     host: { ssh: student@10.1.5.22 }                 # key: FILE, or the agent, or ~/.ssh/id_*
//     vm:   { ssh: user@10.1.5.22:1234 }               # through the NAT port forward
//     calc: { ssh: ubuntu@192.168.37.82, via: host }   # a jump host
//     ct1:  { docker: ssh://user@10.1.5.22:1234, container: ct1 }   # a container on a remote Docker engine
// Passwords are never written in a file: `password_env: NAME` names the environment variable that holds one.
import * as z from 'zod';
import { ScenarioError } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { parseYaml, readScenario, shownPath } from '../../scenario/load.js';
import type { Path } from '../../scenario/source.js';
import { didYouMean } from '../../scenario/suggest.js';
import { text } from '../../scenario/text.js';

const TARGET = /^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/;

const ENGINE = /^(ssh|tcp):\/\/(.+)$/;

const nodeSchema = z.strictObject({
	ssh: text()
		.regex(TARGET, { error: 'expected USER@HOST[:PORT], e.g. student@10.1.5.22 or user@10.1.5.22:1234' })
		.describe('USER@HOST[:PORT]: how to log in to this node.')
		.optional(),
	docker: text()
		.describe(
			'The Docker engine this node is a container of: ssh://USER@HOST[:PORT], tcp://HOST:PORT, or a node of the ' +
				'inventory (its SSH connection is used).',
		)
		.optional(),
	container: text().describe("The container's name or id on that engine (default: the node's name).").optional(),
	socket: text()
		.describe("The engine's socket on its machine, for docker: ssh://… or a node (default /var/run/docker.sock).")
		.optional(),
	key: text().describe('A private key file (default: the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).').optional(),
	password_env: text()
		.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected the name of an environment variable, e.g. LAB_PASSWORD' })
		.describe('The environment variable holding the password (never the password itself).')
		.optional(),
	via: text().describe('Another node of the inventory to reach this one through (a jump host).').optional(),
	address: text().describe("The address other nodes reach this node at, when it is not the scenario's.").optional(),
});

const inventorySchema = z.strictObject({
	nodes: z.record(text(), nodeSchema).describe('How to reach each node of the real lab.'),
});

/** How to reach a container's Docker engine: over SSH (to its socket on that machine), or its TCP endpoint. */
export type EngineRef =
	| { ssh: InventoryNode; socket: string }
	| { node: string; socket: string }
	| { tcp: { host: string; port: number } };

export interface InventoryNode {
	name: string;
	/** SSH login: the machine itself, or (for a container) the machine of its engine. */
	user: string;
	host: string;
	port: number;
	/** A container on a Docker engine: probes run inside its network, with its own tools. */
	docker?: { engine: EngineRef; container: string; shown: string };
	key?: string;
	passwordEnv?: string;
	via?: string;
	address?: string;
}

export interface Inventory {
	file: string;
	nodes: Map<string, InventoryNode>;
}

const keys = (path: Path) => (path.length === 0 ? ['nodes'] : path.length === 2 ? Object.keys(nodeSchema.shape) : []);

/** Reads an inventory and checks it against the scenario's plan: every problem with its position. */
export async function loadInventory(file: string, plan: Plan): Promise<Inventory> {
	const shown = shownPath(file);
	const { data, source } = parseYaml(shown, await readScenario(file, 'inventory'), inventorySchema, keys, 'inventory');
	const problems: Array<{ at: ReturnType<typeof source.at>; message: string; hint?: string }> = [];
	const names = plan.nodes.filter((n) => !n.auto).map((n) => n.name);
	const nodes = new Map<string, InventoryNode>();
	for (const [name, spec] of Object.entries(data.nodes)) {
		if (!plan.nodes.some((n) => n.name === name)) {
			problems.push({
				at: source.at(['nodes', name], true),
				message: `the scenario has no node "${name}"`,
				hint: didYouMean(name, names) ?? `its nodes: ${names.join(', ')}`,
			});
			continue;
		}
		if (Boolean(spec.ssh) === Boolean(spec.docker)) {
			problems.push({
				at: source.at(['nodes', name], true),
				message: spec.ssh ? `"${name}" has both ssh and docker` : `"${name}" says neither ssh nor docker`,
				hint: 'a node is reached by `ssh: USER@HOST[:PORT]`, or as a container: `docker: ENGINE, container: NAME`',
			});
			continue;
		}
		for (const key of ['container', 'socket'] as const)
			if (spec[key] && !spec.docker)
				problems.push({ at: source.at(['nodes', name, key], true), message: `"${key}" needs "docker"` });
		const login = (target: string, key: string) => {
			const [, user = process.env.USER ?? 'root', host, port = '22'] = TARGET.exec(target) ?? [];
			if (!host) {
				problems.push({
					at: source.at(['nodes', name, key]),
					message: `"${target}" is not USER@HOST[:PORT]`,
					hint: 'e.g. ssh://student@10.1.5.22:1234',
				});
				return undefined;
			}
			if (Number(port) < 1 || Number(port) > 65535)
				problems.push({
					at: source.at(['nodes', name, key]),
					message: `port ${port} is out of range`,
					hint: 'ports are 1-65535',
				});
			return { user, host: host.replace(/^\[|\]$/g, ''), port: Number(port) };
		};
		if (spec.via && !data.nodes[spec.via])
			problems.push({
				at: source.at(['nodes', name, 'via']),
				message: `"${spec.via}" is not a node of the inventory`,
				hint: didYouMean(spec.via, Object.keys(data.nodes)),
			});
		const common = { name, key: spec.key, passwordEnv: spec.password_env, via: spec.via, address: spec.address };
		if (spec.docker) {
			const engine = engineOf(spec.docker, spec.socket ?? '/var/run/docker.sock', common, login, (message, hint) =>
				problems.push({ at: source.at(['nodes', name, 'docker']), message, hint }),
			);
			if (!engine) continue;
			if ('node' in engine && !data.nodes[engine.node]?.ssh)
				problems.push({
					at: source.at(['nodes', name, 'docker']),
					message: data.nodes[engine.node]
						? `"${engine.node}" is not reached by ssh, so it cannot carry an engine`
						: `"${engine.node}" is not a node of the inventory, nor ssh://… or tcp://…`,
					hint: didYouMean(engine.node, Object.keys(data.nodes)) ?? 'e.g. docker: ssh://user@10.1.5.22:1234',
				});
			const { user, host, port } = 'ssh' in engine ? engine.ssh : { user: '', host: '', port: 0 };
			nodes.set(name, {
				...common,
				user,
				host,
				port,
				docker: { engine, container: spec.container ?? name, shown: spec.docker },
			});
			continue;
		}
		const ssh = login(spec.ssh!, 'ssh');
		if (!ssh) continue;
		nodes.set(name, { ...common, ...ssh });
	}
	// A jump chain that comes back to where it started never connects.
	for (const node of nodes.values()) {
		const seen = new Set<string>();
		for (let at: InventoryNode | undefined = node; at?.via; at = nodes.get(at.via)) {
			if (seen.has(at.name)) {
				problems.push({
					at: source.at(['nodes', node.name, 'via']),
					message: `"via" goes round in a circle through ${at.name}`,
				});
				break;
			}
			seen.add(at.name);
		}
	}
	if (problems.length > 0) throw new ScenarioError(problems);
	return { file: shown, nodes };
}

type Common = Pick<InventoryNode, 'name' | 'key' | 'passwordEnv' | 'via' | 'address'>;

/** `docker: ssh://USER@HOST[:PORT]`, `tcp://HOST:PORT` or an inventory node's name. */
function engineOf(
	docker: string,
	socket: string,
	common: Common,
	login: (target: string, key: string) => { user: string; host: string; port: number } | undefined,
	problem: (message: string, hint?: string) => void,
): EngineRef | undefined {
	const [, scheme, rest] = ENGINE.exec(docker) ?? [];
	if (!scheme) {
		if (/[:/@]/.test(docker))
			problem(`"${docker}" is not an engine`, 'ssh://USER@HOST[:PORT], tcp://HOST:PORT or a node');
		return /[:/@]/.test(docker) ? undefined : { node: docker, socket };
	}
	const at = login(rest, 'docker');
	if (!at) return undefined;
	if (scheme === 'tcp') return { tcp: { host: at.host, port: /:\d+$/.test(rest) ? at.port : 2375 } };
	return { ssh: { ...common, ...at, name: `${common.name}'s engine` }, socket };
}
