// What a run leaves in /run/labcheck/<id>/state.json, so `exec`, `down` and `clean` can find its lab.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_ROOT } from './names.js';
import type { EngineInfo } from './docker/engine.js';

export interface LabState {
	id: string;
	pid: number;
	scenario: string;
	name: string;
	created: string;
	kept: boolean;
	namespaces: string[];
	nodes: Record<string, string>;
	/** Docker engines of the lab, with everything needed to remove them after a crash. */
	engines: EngineInfo[];
	/** Containers by node name, for `exec` on a kept lab. */
	containers: Record<string, { socket: string; name: string }>;
}

export const writeState = (dir: string, state: LabState) => writeFile(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);

export async function readStates(): Promise<LabState[]> {
	const ids = await readdir(STATE_ROOT).catch(() => [] as string[]);
	const states = await Promise.all(ids.map(async (id) => {
		try { return JSON.parse(await readFile(join(STATE_ROOT, id, 'state.json'), 'utf8')) as LabState; } catch { return undefined; }
	}));
	return states.filter((s): s is LabState => s !== undefined);
}

export const isAlive = (pid: number): boolean => {
	try { process.kill(pid, 0); return true; } catch { return false; }
};
