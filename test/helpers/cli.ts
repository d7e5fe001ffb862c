// Runs the real CLI, and looks at the machine for anything a run could have left behind.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/labcheck.js`;

export const labcheck = (args: string[]) =>
	execa(process.execPath, [BIN, ...args], { cwd: ROOT, reject: false, stripFinalNewline: false, env: { FORCE_COLOR: '0' } });

export async function labNamespaces(): Promise<string[]> {
	const { stdout } = await execa('ip', ['netns', 'list']);
	return stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => /^lc(sw)?-/.test(n));
}

/** Processes labcheck starts inside labs: probe agents, services, sshd with a per-run config. */
export async function labProcesses(): Promise<string[]> {
	const { stdout } = await execa('ps', ['-eo', 'pid,args', '--no-headers']);
	return stdout.split('\n').filter((l) => /agent\/main\.js|services\/run\.js|\/run\/labcheck\//.test(l));
}

/** The root namespace's iptables rules, without counters: a run must not change them. */
export async function rootIptables(): Promise<string> {
	const { stdout } = await execa('iptables-save', [], { reject: false });
	return stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
}

export async function rootLinks(): Promise<string> {
	const { stdout } = await execa('ip', ['-o', 'link', 'show']);
	return stdout.split('\n').map((l) => l.split(':')[1]?.trim()).sort().join(' ');
}
