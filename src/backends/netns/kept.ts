// Labs that outlive the command that built them (`labcheck up`), found again from their state files: a command
// line into a node, a node's network for probes, rule counters and routes as evidence, and `down` / `clean`.
// The CLI reaches all of it through the Backend interface, never through these files.
import { execa } from 'execa';
import { UsageError } from '../../errors.js';
import { NetNamespace } from '../../net/namespace.js';
import type { Cleaned, KeptLab } from '../types.js';
import { cleanAll, cleanDead, downKept } from './clean.js';
import { stateDir } from './names.js';
import { enterNode } from './sandbox.js';
import { isAlive, type LabState, readStates } from './state.js';

export async function keptLabs(): Promise<KeptLab[]> {
	return (await readStates()).filter((s) => s.kept).map(kept);
}

function kept(state: LabState): KeptLab {
	const nodes = [...Object.keys(state.nodes), ...Object.keys(state.containers ?? {})];
	/** A running container's network namespace, found through its engine; undefined when it is not running. */
	const containerPath = async (node: string) => {
		const container = state.containers?.[node];
		if (!container) return undefined;
		const Docker = (await import('dockerode')).default;
		const pid = await new Docker({ socketPath: container.socket })
			.getContainer(container.name)
			.inspect()
			.then(
				(i) => i.State.Pid,
				() => 0,
			);
		return pid ? `/proc/${pid}/ns/net` : '';
	};
	const netPath = async (node: string) =>
		state.nodes[node] ? `/run/netns/${state.nodes[node]}` : ((await containerPath(node)) ?? undefined);
	return {
		id: state.id,
		scenario: state.scenarioPath ?? state.scenario,
		nodes,
		sshKeyFile: `${stateDir(state.id)}/id_ed25519`,
		async commandLine(node, command, tty) {
			const container = state.containers?.[node];
			const namespace = state.nodes[node];
			if (container)
				return ['docker', '-H', `unix://${container.socket}`, 'exec', tty ? '-it' : '-i', container.name, ...command];
			const enter = await enterNode({
				id: state.id,
				dir: stateDir(state.id),
				namespace,
				node,
				hosts: state.hosts ?? '',
			});
			return [...enter, ...command];
		},
		async network(node) {
			const path = await netPath(node);
			return path ? NetNamespace.open(path) : undefined;
		},
		async counters() {
			const all = new Map<string, Map<string, number>>();
			await Promise.all(
				Object.entries(state.nodes).map(async ([node, namespace]) => {
					all.set(node, parseCounters(await iptablesSave(namespace)));
				}),
			);
			return all;
		},
		async route(node, address) {
			const path = await netPath(node);
			if (!path) return `${node} is not running`;
			const route = await execa('nsenter', [`--net=${path}`, 'ip', 'route', 'get', address], {
				reject: false,
				all: true,
			});
			return (route.all ?? '').trim().split('\n')[0];
		},
	};
}

const iptablesSave = async (namespace: string) =>
	(await execa('ip', ['netns', 'exec', namespace, 'iptables-save', '-c'], { reject: false })).stdout;

/**
 * Packet counts by rule. A rule labcheck installed is named by the rule of the plan it came from and its sentence
 * (its comment carries both); any other rule by its table and text.
 */
function parseCounters(saved: string): Map<string, number> {
	const found = new Map<string, number>();
	let table = '';
	for (const line of saved.split('\n')) {
		if (line.startsWith('*')) table = line.slice(1);
		const m = /^\[(\d+):\d+\] (-A .*)$/.exec(line);
		const rule = m && /--comment "?labcheck:(\S+) ([^"]*)"?/.exec(m[2]);
		if (m) found.set(rule ? `${rule[1]} (${table}): ${rule[2]}` : `${table} ${m[2]}`, Number(m[1]));
	}
	return found;
}

/** `labcheck down [id]`: a kept lab, every kept lab, or what a dead run left under that id. */
export async function down(id: string | undefined): Promise<string> {
	if (id) {
		const state = (await readStates()).find((s) => s.id === id);
		if (!state) {
			const kept = (await keptLabs()).map((l) => l.id);
			throw new UsageError(
				`no lab "${id}" exists`,
				kept.length > 0
					? `labs kept by \`up\`: ${kept.join(', ')}`
					: 'no lab is up; `npx labcheck clean` removes what killed runs left',
			);
		}
		if (!state.kept && isAlive(state.pid, state.pidStart)) {
			throw new UsageError(
				`lab ${id} belongs to a run still going (pid ${state.pid}); \`down\` removes labs kept by \`up\``,
				`stop that run (Ctrl-C in its terminal, or kill ${state.pid}): it tears its lab down itself`,
			);
		}
		if (!state.kept) {
			const { namespaces } = await cleanDead();
			return `removed lab ${id}, left by a run that died (${namespaces} namespaces)`;
		}
	}
	const { labs, namespaces } = await downKept(id);
	return labs.length === 0 ? 'no lab was up' : `removed lab ${labs.join(', ')} (${namespaces} namespaces)`;
}

export const clean = (scope: 'dead' | 'all'): Promise<Cleaned> => (scope === 'all' ? cleanAll() : cleanDead());
