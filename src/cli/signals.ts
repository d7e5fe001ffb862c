// Ctrl-C, SIGTERM or a crash mid-run still tears the lab down; only SIGKILL needs `labcheck clean`.
// An interrupted run stops at once: what had not finished is not judged, and its reports say so.
import type { Lab } from '../backends/types.js';

const labs = new Set<Lab>();
const runs = new Set<Promise<unknown>>();
const controller = new AbortController();
let stopping = false;

/** How long an interrupted run may take to write its reports while the lab is torn down. */
const REPORT_GRACE_MS = 3000;

/** True once a signal started tearing down: the run's own ending must then wait for the handler's exit. */
export const interrupted = () => stopping;

/** Aborted with the signal's name when one arrives: the run engine stops probing and judging. */
export const interruption: AbortSignal = controller.signal;

export function guard(lab: Lab): void {
	labs.add(lab);
}
export function release(lab: Lab): void {
	labs.delete(lab);
}

/** A run in progress: an interrupted process exits once it has written its (interrupted) reports. */
export function track<T>(run: Promise<T>): Promise<T> {
	const settled = run.then(
		() => {},
		() => {},
	);
	runs.add(settled);
	void settled.finally(() => runs.delete(settled));
	return run;
}

/**
 * Exits once what was written to stdout and stderr has left: into a pipe, writes are asynchronous and process.exit
 * would cut them.
 */
export async function exit(code: number): Promise<never> {
	await Promise.all(
		[process.stdout, process.stderr].map(
			(stream) =>
				new Promise<void>((resolve) => {
					if (!stream.writableNeedDrain && stream.writableLength === 0) resolve();
					else stream.write('', () => resolve());
				}),
		),
	);
	process.exit(code);
}

export async function teardownAll(): Promise<void> {
	await Promise.allSettled([...labs].map((lab) => lab.teardown()));
	labs.clear();
}

export function installSignalHandlers(): void {
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		process.on(signal, () => {
			if (stopping) return;
			stopping = true;
			process.stderr.write(`\n${signal}: tearing the lab down…\n`);
			controller.abort(signal);
			const reported = Promise.race([
				Promise.allSettled([...runs]),
				new Promise((r) => setTimeout(r, REPORT_GRACE_MS).unref()),
			]);
			void Promise.allSettled([teardownAll(), reported]).finally(() => exit(signal === 'SIGINT' ? 130 : 143));
		});
	}
	// Probes run inside this process: an error nothing caught must not leave the lab behind either.
	for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
		process.on(event, (error: unknown) => {
			if (stopping) return;
			stopping = true;
			process.stderr.write(
				'\n✖ labcheck failed unexpectedly (a bug — please report it): ' +
					`${(error as Error)?.stack ?? String(error)}\ntearing the lab down…\n`,
			);
			void teardownAll().finally(() => exit(3));
		});
	}
}
