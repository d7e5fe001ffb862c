// Ctrl-C, SIGTERM or a crash mid-run still tears the lab down; only SIGKILL needs `labcheck clean`.
import type { Lab } from '../backends/types.js';

const labs = new Set<Lab>();
let stopping = false;

/** True once a signal started tearing down: the run's own ending must then wait for the handler's exit. */
export const interrupted = () => stopping;

export function guard(lab: Lab): void {
	labs.add(lab);
}
export function release(lab: Lab): void {
	labs.delete(lab);
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
			void teardownAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
		});
	}
	// Probes run inside this process: an error nothing caught must not leave the lab behind either.
	for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
		process.on(event, (error: unknown) => {
			if (stopping) return;
			stopping = true;
			process.stderr.write(`\n✖ labcheck failed unexpectedly (a bug — please report it): ${(error as Error)?.stack ?? String(error)}\ntearing the lab down…\n`);
			void teardownAll().finally(() => process.exit(3));
		});
	}
}
