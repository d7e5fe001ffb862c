// What a run leaves in /run/labcheck/<id>/state.json, so `exec`, `down` and `clean` can find its lab.
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_ROOT } from './names.js';
import type { EngineInfo } from './docker/engine.js';

export interface LabState {
	id: string;
	pid: number;
	/** The run's process start time (ticks since boot), so a reused pid is not taken for it. */
	pidStart?: number;
	scenario: string;
	/** The scenario file's absolute path, so `why` finds the lab from any working directory. */
	scenarioPath?: string;
	name: string;
	created: string;
	kept: boolean;
	namespaces: string[];
	nodes: Record<string, string>;
	/** Docker engines of the lab, with everything needed to remove them after a crash. */
	engines: EngineInfo[];
	/** /etc/hosts lines of the lab, for nodes' own file systems made after the run (`labcheck exec`). */
	hosts?: string;
	/** Containers by node name, for `exec` on a kept lab. */
	containers: Record<string, { socket: string; name: string }>;
}

export const writeState = (dir: string, state: LabState) =>
	writeFile(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);

export async function readStates(): Promise<LabState[]> {
	const ids = await readdir(STATE_ROOT).catch(() => [] as string[]);
	const states = await Promise.all(
		ids.map(async (id) => {
			try {
				return JSON.parse(await readFile(join(STATE_ROOT, id, 'state.json'), 'utf8')) as LabState;
			} catch {
				return undefined;
			}
		}),
	);
	return states.filter((s): s is LabState => s !== undefined);
}

/**
 * Whether the run that wrote a state is still going: its process exists, is not a zombie (a killed
 * run whose parent has not reaped it yet still answers kill 0), and is the same process (its start
 * time matches, so a reused pid is not mistaken for it).
 */
export function isAlive(pid: number, started?: number): boolean {
	const stat = procStat(pid);
	if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
	return started === undefined || stat.start === started;
}

/** This process's start time in clock ticks since boot: with the pid, it names the process. */
export const processStart = (pid = process.pid): number | undefined => procStat(pid)?.start;

/** A process's state letter and start time (fields 3 and 22 of /proc/PID/stat), or undefined when it is gone. */
function procStat(pid: number): { state: string; start: number } | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
		return { state: fields[0], start: Number(fields[19]) };
	} catch {
		return undefined;
	}
}
