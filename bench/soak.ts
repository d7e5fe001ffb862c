// `npm run soak -- [--rounds N] [--scenarios a.yaml,b.yaml]`: every shipped scenario run again and
// again — to the end, interrupted at a random moment (SIGINT, SIGTERM), killed (SIGKILL, then
// `labcheck clean`), and twice at once — counting after each what was left on the machine and how
// long a signal took to end the run. Writes bench/soak.json; exits 1 when anything was left.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
	BIN,
	dockerLeftovers,
	labNamespaces,
	labProcesses,
	ROOT,
	rootIptables,
	rootLinks,
	shimSockets,
} from '../test/helpers/cli.js';

const { values } = parseArgs({
	options: {
		rounds: { type: 'string', default: '2' },
		scenarios: { type: 'string' },
		seed: { type: 'string', default: '7' },
	},
});
const scenarios = values.scenarios?.split(',') ?? readdirSync(join(ROOT, 'scenarios')).map((f) => `scenarios/${f}`);
let seed = Number(values.seed);
const random = () => {
	seed = (seed * 1103515245 + 12345) % 2 ** 31;
	return seed / 2 ** 31;
};

const listing = (dir: string) => {
	try {
		return readdirSync(dir);
	} catch {
		return [];
	}
};
async function machine() {
	return {
		namespaces: await labNamespaces(),
		processes: await labProcesses(),
		iptables: await rootIptables(),
		links: await rootLinks(),
		docker: await dockerLeftovers(),
		shims: await shimSockets(),
		tmp: listing('/tmp'),
		state: listing('/run/labcheck'),
		mounts: readFileSync('/proc/mounts', 'utf8')
			.split('\n')
			.filter((l) => /labcheck/.test(l)),
	};
}
type Machine = Awaited<ReturnType<typeof machine>>;
const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
function leftovers(before: Machine, after: Machine): string[] {
	return [
		...after.namespaces.map((n) => `namespace ${n}`),
		...after.processes.map((p) => `process ${p.trim()}`),
		...(after.iptables !== before.iptables ? ['root iptables changed'] : []),
		...(after.links !== before.links ? ['root interfaces changed'] : []),
		...after.docker.map((d) => `docker ${d}`),
		...added(before.shims, after.shims).map((s) => `containerd shim socket ${s}`),
		...added(before.tmp, after.tmp).map((f) => `/tmp/${f}`),
		...after.state.map((s) => `/run/labcheck/${s}`),
		...after.mounts.map((m) => `mount ${m}`),
	];
}

/** Runs the CLI; `signal` after `afterMs`; the peak RSS of the labcheck process and the time from signal to exit. */
function runOnce(
	file: string,
	signal?: NodeJS.Signals,
	afterMs = 0,
): Promise<{ code: number | null; rssMb: number; stopMs?: number }> {
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [BIN, 'run', file, '--no-report', '-q'], { cwd: ROOT, stdio: 'ignore' });
		let peak = 0;
		let signalled: number | undefined;
		const poll = setInterval(() => {
			const m = /VmHWM:\s+(\d+)/.exec(
				(() => {
					try {
						return readFileSync(`/proc/${child.pid}/status`, 'utf8');
					} catch {
						return '';
					}
				})(),
			);
			if (m) peak = Math.max(peak, Number(m[1]) / 1024);
		}, 50);
		const timer = signal
			? setTimeout(() => {
					signalled = performance.now();
					child.kill(signal);
				}, afterMs)
			: undefined;
		child.on('exit', (code) => {
			clearInterval(poll);
			clearTimeout(timer);
			resolve({
				code,
				rssMb: Math.round(peak),
				stopMs: signalled === undefined ? undefined : Math.round(performance.now() - signalled),
			});
		});
	});
}

const report: Array<Record<string, unknown>> = [];
let dirty = 0;
const baseline = await machine();
for (let round = 0; round < Number(values.rounds); round++) {
	for (const file of scenarios) {
		const cases: Array<{
			kind: string;
			run: () => Promise<Array<{ code: number | null; rssMb: number; stopMs?: number }>>;
		}> = [
			{ kind: 'run', run: async () => [await runOnce(file)] },
			{ kind: 'SIGINT', run: async () => [await runOnce(file, 'SIGINT', 200 + random() * 2500)] },
			{ kind: 'SIGTERM', run: async () => [await runOnce(file, 'SIGTERM', 200 + random() * 2500)] },
			{
				kind: 'SIGKILL + clean',
				run: async () => {
					const r = await runOnce(file, 'SIGKILL', 200 + random() * 2500);
					await execa(process.execPath, [BIN, 'clean'], { cwd: ROOT });
					return [r];
				},
			},
			{ kind: 'two at once', run: async () => Promise.all([runOnce(file), runOnce(file)]) },
		];
		for (const c of cases) {
			const runs = await c.run();
			const left = leftovers(baseline, await machine());
			if (left.length > 0) dirty++;
			const line = {
				round,
				scenario: file,
				kind: c.kind,
				exit: runs.map((r) => r.code),
				rssMb: Math.max(...runs.map((r) => r.rssMb)),
				stopMs: runs[0].stopMs,
				leftovers: left,
			};
			report.push(line);
			console.log(
				`${left.length ? '✖' : '✓'} ${file} ${c.kind}: exit ${line.exit.join('/')}, rss ${line.rssMb} MB` +
					(line.stopMs !== undefined ? `, stopped in ${line.stopMs} ms` : '') +
					(left.length ? ` — left: ${left.slice(0, 5).join(', ')}` : ''),
			);
			if (left.length) await execa(process.execPath, [BIN, 'clean'], { cwd: ROOT, reject: false });
		}
	}
}
const stops = report
	.flatMap((r) => (typeof r.stopMs === 'number' && r.kind !== 'SIGKILL + clean' ? [r.stopMs] : []))
	.sort((a, b) => a - b);
const summary = {
	date: new Date().toISOString(),
	runs: report.length,
	withLeftovers: dirty,
	maxRssMb: Math.max(...report.map((r) => r.rssMb as number)),
	signalToExitMs: { median: stops[Math.floor(stops.length / 2)] ?? null, max: stops.at(-1) ?? null },
	exits: Object.fromEntries(
		[...new Set(report.map((r) => `${r.kind}: ${(r.exit as Array<number | null>).join('/')}`))].map((k) => [
			k,
			report.filter((r) => `${r.kind}: ${(r.exit as Array<number | null>).join('/')}` === k).length,
		]),
	),
	cases: report,
};
writeFileSync(join(ROOT, 'bench/soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(
	`\n${dirty === 0 ? '✔' : '✖'} soak: ${report.length} cases, ${dirty} left something; ` +
		`peak RSS ${summary.maxRssMb} MB; signal to exit median ${summary.signalToExitMs.median} ms, ` +
		`max ${summary.signalToExitMs.max} ms (bench/soak.json)`,
);
process.exit(dirty === 0 ? 0 : 1);
