// Removes what runs left behind: labs of dead runs, kept labs (`down`), or everything (`clean`).
import { rm } from 'node:fs/promises';
import { LAB_NAMESPACE, stateDir } from './names.js';
import { killRunProcesses, labNamespaces, removeNamespaces } from './processes.js';
import { removeNodeCgroups } from './cgroups.js';
import { stopEngine } from './docker/engine.js';
import { isAlive, readStates, type LabState } from './state.js';
import type { Cleaned } from '../types.js';

async function removeLabs(states: LabState[], orphans: string[] = []): Promise<Cleaned> {
	for (const state of states) {
		await killRunProcesses(state.id);
		await Promise.all((state.engines ?? []).map(stopEngine));
	}
	const namespaces = [...states.flatMap((s) => s.namespaces), ...orphans];
	const present = new Set(await labNamespaces(LAB_NAMESPACE));
	await removeNamespaces(namespaces.filter((ns) => present.has(ns)));
	for (const id of new Set([
		...states.map((s) => s.id),
		...orphans.map((ns) => LAB_NAMESPACE.exec(ns)?.[1]).filter((x): x is string => Boolean(x)),
	]))
		await removeNodeCgroups(id);
	await Promise.all(states.map((s) => rm(stateDir(s.id), { recursive: true, force: true })));
	return { labs: states.map((s) => s.id), namespaces: namespaces.filter((ns) => present.has(ns)).length };
}

/** Every lab labcheck made on this machine, kept or leaked, and any namespace that looks like one. */
export async function cleanAll(): Promise<Cleaned> {
	const all = await readStates();
	// A run still going in another terminal is not a leftover.
	const live = all.filter((s) => !s.kept && s.pid !== process.pid && isAlive(s.pid, s.pidStart));
	const gone = all.filter((s) => !live.includes(s));
	const liveIds = new Set(live.map((s) => s.id));
	const known = new Set(gone.flatMap((s) => s.namespaces));
	const orphans = (await labNamespaces(LAB_NAMESPACE)).filter(
		(ns) => !known.has(ns) && !liveIds.has(LAB_NAMESPACE.exec(ns)![1]),
	);
	return removeLabs(gone, orphans);
}

/** Labs whose run died without tearing down (killed with SIGKILL, machine lost power). */
export async function cleanDead(): Promise<Cleaned> {
	const dead = (await readStates()).filter((s) => !s.kept && !isAlive(s.pid, s.pidStart));
	return dead.length === 0 ? { labs: [], namespaces: 0 } : removeLabs(dead);
}

/** Labs kept with `labcheck up`, all or one. */
export async function downKept(id?: string): Promise<Cleaned> {
	return removeLabs((await readStates()).filter((s) => s.kept && (!id || s.id === id)));
}
