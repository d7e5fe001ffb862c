// `labcheck exec`, `down`, `clean`: act on labs that outlive a command, through their backend.
import { spawnSync } from 'node:child_process';
import { loadBackend } from '../backends/index.js';
import type { KeptLab } from '../backends/types.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../scenario/suggest.js';

const backend = () => loadBackend('netns');

/** The one kept lab (or the one named): a UsageError saying how to start or choose one otherwise. */
export async function keptLab(id?: string): Promise<KeptLab> {
	const labs = (await (await backend()).kept()).filter((l) => !id || l.id === id);
	if (labs.length === 0)
		throw new UsageError(id ? `no lab "${id}" is up` : 'no lab is up', 'start one with `npx labcheck up <scenario>`');
	if (labs.length > 1)
		throw new UsageError(
			`${labs.length} labs are up (${labs.map((l) => l.id).join(', ')})`,
			'choose one with --lab ID',
		);
	return labs[0];
}

export async function exec(node: string, command: string[], flags: { lab?: string }): Promise<number> {
	const lab = await keptLab(flags.lab);
	if (!lab.nodes.includes(node))
		throw new UsageError(
			`lab ${lab.id} has no node "${node}"`,
			didYouMean(node, lab.nodes) ?? `nodes: ${lab.nodes.join(', ')}`,
		);
	const argv = await lab.commandLine(node, command.length === 0 ? ['/bin/sh'] : command, Boolean(process.stdin.isTTY));
	const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
	return result.status ?? 1;
}

export async function down(id: string | undefined): Promise<number> {
	console.log(await (await backend()).down(id));
	return 0;
}

export async function clean(): Promise<number> {
	const { labs, namespaces } = await (await backend()).clean('all');
	console.log(
		labs.length === 0 && namespaces === 0
			? 'nothing to clean'
			: `removed ${labs.length} lab(s), ${namespaces} namespace(s) and their processes`,
	);
	return 0;
}
