// Real-lab tests: a lab labcheck built itself (`labcheck up`), inventories written for it, and `labcheck run --on`
// started from its host node's network — the machines it reaches are that lab's, never anything outside it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, labcheck, ROOT } from './cli.js';

/** Brings `scenario` up as a kept lab and says its id; throws with labcheck's words when it cannot. */
export async function upLab(scenario: string): Promise<string> {
	await labcheck(['clean']);
	const up = await labcheck(['up', scenario]);
	const lab = /lab (\w{4}) is up/.exec(String(up.stdout))?.[1];
	if (!lab) throw new Error(`labcheck up failed: ${up.stdout}${up.stderr}`);
	return lab;
}

/** Writes `DIR/NAME.inventory.yaml` with one line per node ("{ ssh: … }") and gives its path. */
export function inventory(dir: string, name: string, nodes: Record<string, string>): string {
	const file = join(dir, `${name}.inventory.yaml`);
	writeFileSync(
		file,
		`nodes:\n${Object.entries(nodes)
			.map(([n, spec]) => `  ${n}: ${spec}\n`)
			.join('')}`,
	);
	return file;
}

/** `labcheck run SCENARIO --on INVENTORY …` from the host node of `lab`: its network, the machine's files. */
export const runOn = (lab: string, scenario: string, inv: string, more: string[], env: Record<string, string> = {}) =>
	execa('ip', ['netns', 'exec', `lc-${lab}-host`, process.execPath, BIN, 'run', scenario, '--on', inv, ...more], {
		cwd: ROOT,
		reject: false,
		env: { FORCE_COLOR: '0', ...env },
		all: true,
	});

export type Result = { id: string; actual: string; passed: boolean; status: string; detail: string; seenFrom?: string };
/** The results of a saved run (`--json FILE`). */
export const results = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results;
export const byId = (rs: Result[]) => Object.fromEntries(rs.map((r) => [r.id, r]));

/**
 * A real run that trusts the machines' new host keys and writes its results and report in `dir`: `run` is the test's
 * `run --on` with its inventory, given the rest of the arguments.
 */
export async function trustingRun(dir: string, run: (...more: string[]) => ReturnType<typeof runOn>) {
	const files = { knownHosts: join(dir, 'known_hosts'), json: join(dir, 'real.json'), report: join(dir, 'real.md') };
	const done = await run(
		...['--known-hosts', files.knownHosts, '--trust-new-hosts'],
		...['--json', files.json, '--report', files.report],
	);
	return { ...files, run: done };
}
