// A probe process (see probers.ts): runs the network probes labcheck hands it, each from the node's namespace it
// names, and sends their results back. It holds nothing labcheck does not know of, and ends with labcheck: when the
// channel to it closes (labcheck ended, however it ended), or at once when labcheck's process dies.
import { libc } from '../../net/libc.js';
import { NetNamespace } from '../../net/namespace.js';
import { probeOf } from '../../../probes/index.js';
import type { ProbeResult } from '../../../probes/types.js';
import type { ProberReply, ProberRequest, ProberResults } from './probers.js';

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;
try {
	libc<(option: number, arg: number) => number>('int prctl(int option, unsigned long arg2)')(PR_SET_PDEATHSIG, SIGKILL);
} catch {
	// The closed channel still ends it.
}
// Ctrl-C reaches the whole process group: labcheck decides what happens, and closes the channel.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const networks = new Map<string, NetNamespace>();
const network = (path: string) => {
	const known = networks.get(path);
	if (known) return known;
	const opened = NetNamespace.open(path);
	networks.set(path, opened);
	return opened;
};

// Results go back a few milliseconds' worth at a time: a message per event-loop turn cost this process a third of
// its time in writes. A probe's duration is measured here, so waiting to send changes no result.
const BATCH_MS = 5;
let replies: ProberResults = [];
let scheduled = false;
const reply = (id: number, result: ProbeResult) => {
	replies.push([id, result]);
	if (scheduled) return;
	scheduled = true;
	setTimeout(flush, BATCH_MS);
};
const flush = () => {
	const results = replies;
	replies = [];
	scheduled = false;
	if (!process.connected) return;
	try {
		process.send!({ results } satisfies ProberReply);
	} catch {
		// A result that cannot be copied (a probe's bug) fails alone, named, not the whole batch.
		for (const [id, result] of results) {
			try {
				process.send!({ results: [[id, result]] } satisfies ProberReply);
			} catch (error) {
				const detail = `probe crashed: its result cannot be sent back (${(error as Error).message})`;
				process.send!({ results: [[id, { status: 'error', detail, ms: result.ms }]] } satisfies ProberReply);
			}
		}
	}
};

process.on('message', (message: ProberRequest) => {
	for (const { id, path, request, sshKeyFile } of message.probes) {
		const probe = probeOf(request.probe)!;
		let run: Promise<ProbeResult>;
		try {
			run = probe.run(request, { network: network(path), sshKeyFile });
		} catch (error) {
			run = Promise.reject(error);
		}
		run.then(
			(result) => reply(id, result),
			(error: Error) => reply(id, { status: 'error', detail: `probe crashed: ${error.message}`, ms: 0 }),
		);
	}
});

process.on('disconnect', () => {
	for (const n of networks.values()) n.close();
	process.exit(0);
});

process.send!({ ready: true } satisfies ProberReply);
