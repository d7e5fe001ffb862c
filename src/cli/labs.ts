// `labcheck exec`, `down`, `clean`: act on labs that outlive a command.
import { spawnSync } from 'node:child_process';
import { cleanAll, cleanDead, downKept, keptLabs } from '../backends/netns/clean.js';
import { enterNode } from '../backends/netns/sandbox.js';
import { stateDir } from '../backends/netns/names.js';
import { isAlive, readStates } from '../backends/netns/state.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../scenario/suggest.js';

export async function exec(node: string, command: string[], flags: { lab?: string }): Promise<number> {
	const labs = (await keptLabs()).filter((l) => !flags.lab || l.id === flags.lab);
	if (labs.length === 0)
		throw new UsageError(
			flags.lab ? `no lab "${flags.lab}" is up` : 'no lab is up',
			'start one with `npx labcheck up <scenario>`',
		);
	if (labs.length > 1)
		throw new UsageError(
			`${labs.length} labs are up (${labs.map((l) => l.id).join(', ')})`,
			'choose one with --lab ID',
		);
	const [lab] = labs;
	const container = lab.containers?.[node];
	const namespace = lab.nodes[node];
	const names = [...Object.keys(lab.nodes), ...Object.keys(lab.containers ?? {})];
	if (!namespace && !container)
		throw new UsageError(
			`lab ${lab.id} has no node "${node}"`,
			didYouMean(node, names) ?? `nodes: ${names.join(', ')}`,
		);
	if (command.length === 0) command = ['/bin/sh'];
	const argv = container
		? [
				'docker',
				'-H',
				`unix://${container.socket}`,
				'exec',
				...(process.stdin.isTTY ? ['-it'] : ['-i']),
				container.name,
				...command,
			]
		: [
				...(await enterNode({ id: lab.id, dir: stateDir(lab.id), namespace, node, hosts: lab.hosts ?? '' })),
				...command,
			];
	const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
	return result.status ?? 1;
}

export async function down(id: string | undefined): Promise<number> {
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
			console.log(`removed lab ${id}, left by a run that died (${namespaces} namespaces)`);
			return 0;
		}
	}
	const { labs, namespaces } = await downKept(id);
	console.log(labs.length === 0 ? 'no lab was up' : `removed lab ${labs.join(', ')} (${namespaces} namespaces)`);
	return 0;
}

export async function clean(): Promise<number> {
	const { labs, namespaces } = await cleanAll();
	console.log(
		labs.length === 0 && namespaces === 0
			? 'nothing to clean'
			: `removed ${labs.length} lab(s), ${namespaces} namespace(s) and their processes`,
	);
	return 0;
}
