// An inventory says how to reach each node of a real lab: the same scenario, run on machines that exist.
//   nodes:
//     host: { ssh: student@10.1.5.22 }                 # key: FILE, or the agent, or ~/.ssh/id_*
//     vm:   { ssh: user@10.1.5.22:1234 }               # through the NAT port forward
//     calc: { ssh: ubuntu@192.168.37.82, via: host }   # a jump host
// Passwords are never written in a file: `password_env: NAME` names the environment variable that holds one.
import * as z from 'zod';
import { ScenarioError } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { parseYaml, readScenario, shownPath } from '../../scenario/load.js';
import type { Path } from '../../scenario/source.js';
import { didYouMean } from '../../scenario/suggest.js';
import { text } from '../../scenario/text.js';

const TARGET = /^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/;

const nodeSchema = z.strictObject({
	ssh: text()
		.regex(TARGET, { error: 'expected USER@HOST[:PORT], e.g. student@10.1.5.22 or user@10.1.5.22:1234' })
		.describe('USER@HOST[:PORT]: how to log in to this node.'),
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

export interface InventoryNode {
	name: string;
	user: string;
	host: string;
	port: number;
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
		const [, user = process.env.USER ?? 'root', host, port = '22'] = TARGET.exec(spec.ssh)!;
		if (Number(port) < 1 || Number(port) > 65535)
			problems.push({
				at: source.at(['nodes', name, 'ssh']),
				message: `port ${port} is out of range`,
				hint: 'ports are 1-65535',
			});
		if (spec.via && !data.nodes[spec.via])
			problems.push({
				at: source.at(['nodes', name, 'via']),
				message: `"${spec.via}" is not a node of the inventory`,
				hint: didYouMean(spec.via, Object.keys(data.nodes)),
			});
		nodes.set(name, {
			name,
			user,
			host: host.replace(/^\[|\]$/g, ''),
			port: Number(port),
			key: spec.key,
			passwordEnv: spec.password_env,
			via: spec.via,
			address: spec.address,
		});
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
