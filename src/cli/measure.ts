// `labcheck why` on a running lab (`labcheck up`): the real probe, and the evidence behind it —
// the iptables rules whose counters moved while it ran, and the source's `ip route get`.
import { join, resolve } from 'node:path';
import chalk from 'chalk';
import { execa } from 'execa';
import { keptLabs } from '../backends/netns/clean.js';
import { stateDir } from '../backends/netns/names.js';
import { NetNamespace } from '../net/namespace.js';
import { probeOf } from '../../probes/index.js';
import type { PlanCheck } from '../plan/types.js';

type Counters = Map<string, number>;

async function counters(namespace: string): Promise<Counters> {
	const { stdout } = await execa('ip', ['netns', 'exec', namespace, 'iptables-save', '-c'], { reject: false });
	const found: Counters = new Map();
	let table = '';
	for (const line of stdout.split('\n')) {
		if (line.startsWith('*')) table = line.slice(1);
		const m = /^\[(\d+):\d+\] (-A .*)$/.exec(line);
		// A rule labcheck installed names the rule of the plan it came from, and that rule's sentence.
		const rule = m && /--comment "?labcheck:(\S+) ([^"]*)"?/.exec(m[2]);
		if (m) found.set(rule ? `${rule[1]} (${table}): ${rule[2]}` : `${table} ${m[2]}`, Number(m[1]));
	}
	return found;
}

/** Runs `check` in the kept lab of `scenario`, if one is up; prints what it measured. */
export async function measure(scenario: string, check: PlanCheck): Promise<boolean> {
	const lab = (await keptLabs()).find((l) => (l.scenarioPath ?? resolve(l.scenario)) === resolve(scenario));
	if (!lab) return false;
	// A node's network: its namespace, or a running container's (found through its engine).
	const container = lab.containers?.[check.from];
	let path = lab.nodes[check.from] ? `/run/netns/${lab.nodes[check.from]}` : undefined;
	if (container) {
		const Docker = (await import('dockerode')).default;
		const pid = await new Docker({ socketPath: container.socket })
			.getContainer(container.name)
			.inspect()
			.then(
				(i) => i.State.Pid,
				() => 0,
			);
		if (!pid) {
			console.log(
				chalk.dim(`
${check.from} is not running in lab ${lab.id}: nothing to measure from it`),
			);
			return true;
		}
		path = `/proc/${pid}/ns/net`;
	}
	if (!path) return false;
	const namespaces = Object.entries(lab.nodes);
	const before = await Promise.all(namespaces.map(([, ns]) => counters(ns)));
	const network = NetNamespace.open(path);
	try {
		const request = { probe: check.probe, address: check.to.address, port: check.to.port, options: check.options };
		const result = await probeOf(check.probe)!.run(request, {
			network,
			sshKeyFile: join(stateDir(lab.id), 'id_ed25519'),
		});
		console.log(
			`\nmeasured in lab ${lab.id}: ${result.status === 'ok' ? chalk.green('reachable') : chalk.red(`unreachable (${result.status})`)} — ${result.detail}${result.seenFrom ? `; the target saw ${result.seenFrom}` : ''}`,
		);
	} finally {
		network.close();
	}
	const after = await Promise.all(namespaces.map(([, ns]) => counters(ns)));
	const moved = namespaces.flatMap(([node], i) =>
		[...after[i]]
			.filter(([rule, n]) => n > (before[i].get(rule) ?? 0))
			.map(([rule, n]) => `  ${node}: ${rule} ${chalk.dim(`(+${n - (before[i].get(rule) ?? 0)} packets)`)}`),
	);
	console.log(
		moved.length > 0 ? `rules whose counters moved:\n${moved.join('\n')}` : 'no labcheck rule counted a packet',
	);
	const route = await execa('nsenter', [`--net=${path}`, 'ip', 'route', 'get', check.to.address], {
		reject: false,
		all: true,
	});
	console.log(`${check.from}$ ip route get ${check.to.address}\n  ${(route.all ?? '').trim().split('\n')[0]}`);
	return true;
}
