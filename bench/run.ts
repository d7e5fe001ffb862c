// npm run bench: labcheck measured side by side with Mininet on this machine, medians of repeated
// runs, written to bench/results.json. Not part of `npm test`: timings are not pass/fail.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { execa } from 'execa';
import { netnsBackend } from '../src/backends/netns/index.js';
import { buildPlan } from '../src/plan/build.js';
import { parseScenario } from '../src/scenario/load.js';
import { SERVICE_ENTRY } from '../src/paths.js';
import { installed } from '../src/which.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/labcheck.js');
// The median; of two values, their mean.
const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const seconds = async (fn: () => Promise<unknown>) => {
	const t = performance.now();
	await fn();
	return (performance.now() - t) / 1000;
};
const repeat = async (n: number, fn: () => Promise<unknown>) => {
	const xs = [];
	for (let i = 0; i < n; i++) xs.push(await seconds(fn));
	return xs;
};
const say = (line: string) => process.stdout.write(`${line}\n`);
/** Resident memory of a process and all its descendants, in kB (0 once it has gone). */
function treeRss(pid: number): number {
	try {
		const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
		const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
		return rss + children.reduce((sum, child) => sum + treeRss(Number(child)), 0);
	} catch {
		return 0;
	}
}

/** A LAN of `n` hosts; `dropping` of them have a security group with no ICMP rule: they drop every
 * ping to them and every reply to theirs, so a pair is reachable only between two healthy hosts. */
function lanScenario(n: number, dropping = 0, checks = true): string {
	const hosts = Array.from({ length: n }, (_, i) => `h${i + 1}`);
	const lines = ['name: all pairs', 'networks: { lan: { subnet: 10.0.0.0/16 } }', 'nodes:'];
	for (const [i, h] of hosts.entries()) {
		const address = `10.0.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`;
		lines.push(`  ${h}: { kind: host, on: lan, address: ${address}${i < dropping ? ', security_group: []' : ''} }`);
	}
	if (checks) {
		lines.push('expect:');
		for (const a of hosts)
			for (const b of hosts)
				if (a !== b)
					lines.push(
						`  - ping ${a} -> ${b}: { expect: ${
							hosts.indexOf(a) < dropping || hosts.indexOf(b) < dropping ? 'unreachable' : 'reachable'
						}, count: 1 }`,
					);
	}
	return `${lines.join('\n')}\n`;
}

async function labcheckRun(file: string) {
	const r = await execa(process.execPath, [BIN, 'run', file, '--no-report', '-q'], { reject: false });
	if (r.exitCode !== 0) throw new Error(`labcheck run ${file} failed:\n${r.stdout}\n${r.stderr}`);
}

// Docker's FORWARD DROP would break Mininet's root-namespace bridges: allow bridged traffic for the
// bench and restore the policy after, as a careful user would.
async function withRootForwarding<T>(fn: () => Promise<T>): Promise<T> {
	const policy = /-P FORWARD (\w+)/.exec((await execa('iptables', ['-S', 'FORWARD'])).stdout)?.[1];
	if (policy === 'DROP') await execa('iptables', ['-I', 'FORWARD', '-i', 's1', '-o', 's1', '-j', 'ACCEPT']);
	try {
		return await fn();
	} finally {
		if (policy === 'DROP')
			await execa('iptables', ['-D', 'FORWARD', '-i', 's1', '-o', 's1', '-j', 'ACCEPT'], { reject: false });
	}
}

/** 20 LANs of 15 hosts, each LAN's router on a backbone with a route to every other LAN: all pairs, from the model. */
function routedScenario(lans = 20, hosts = 15): string {
	const lines = ['name: routed', 'networks:', '  core: { subnet: 10.255.0.0/24 }'];
	for (let k = 1; k <= lans; k++) lines.push(`  lan${k}: { subnet: 10.${k}.0.0/24, gateway: 10.${k}.0.1 }`);
	lines.push('nodes:');
	for (let k = 1; k <= lans; k++) {
		const routes = Array.from({ length: lans }, (_, j) => j + 1)
			.filter((j) => j !== k)
			.map((j) => `"10.${j}.0.0/24 via 10.255.0.${j}"`);
		lines.push(
			`  r${k}: { kind: router, interfaces: { core: 10.255.0.${k}, lan${k}: 10.${k}.0.1 }, routes: [${routes}] }`,
		);
		for (let i = 1; i <= hosts; i++)
			lines.push(`  h${k}-${i}: { kind: host, on: lan${k}, address: 10.${k}.0.${i + 10} }`);
	}
	lines.push('expect:', '  - ping * -> *: { expect: auto, count: 1 }');
	return `${lines.join('\n')}\n`;
}

// Mininet raises these machine-wide and never puts them back (mininet/util.py fixLimits): the bench does.
const MININET_SYSCTLS = [
	'net.core.wmem_max',
	'net.core.rmem_max',
	'net.ipv4.tcp_rmem',
	'net.ipv4.tcp_wmem',
	'net.core.netdev_max_backlog',
	'net.ipv4.neigh.default.gc_thresh1',
	'net.ipv4.neigh.default.gc_thresh2',
	'net.ipv4.neigh.default.gc_thresh3',
	'net.ipv4.route.max_size',
	'kernel.pty.max',
];

async function mininet(n: number, pre?: string): Promise<number> {
	const saved = (await execa('sysctl', MININET_SYSCTLS, { reject: false })).stdout.split('\n').filter(Boolean);
	try {
		return await mininetRun(n, pre);
	} finally {
		await execa('sysctl', ['-q', '-w', ...saved.map((line) => line.replace(/ = /, '=').replace(/\t/g, ' '))], {
			reject: false,
		});
	}
}

async function mininetRun(n: number, pre?: string): Promise<number> {
	await execa('mn', ['-c'], { reject: false });
	const args = [
		'--topo',
		`single,${n}`,
		'--switch',
		'lxbr',
		'--controller',
		'none',
		...(pre ? ['--pre', pre] : []),
		'--test',
		'pingall',
	];
	const t = await seconds(() => withRootForwarding(() => execa('mn', args, { reject: false })));
	await execa('mn', ['-c'], { reject: false });
	return t;
}

async function buildTeardown(n: number): Promise<number> {
	const plan = buildPlan(parseScenario('bench.yaml', lanScenario(n, 0, false)));
	return seconds(async () => (await netnsBackend.build(plan, {})).teardown());
}

// The five services as the labs run them — each its own process — and autocannon (default 10
// connections) in this one, all on loopback.
async function calculator(): Promise<{ rps: number; p50: number; p99: number }> {
	const peers = ['sum', 'sub', 'mul', 'div'].flatMap((op, i) => [`--${op}`, `127.0.0.1:${51001 + i}`]);
	const services = ['calculator:51000', 'sum:51001', 'sub:51002', 'mul:51003', 'div:51004'].map((spec) =>
		spawn(process.execPath, [SERVICE_ENTRY, spec, ...peers], { stdio: 'ignore' }),
	);
	try {
		for (const port of [51000, 51001, 51002, 51003, 51004]) await listening(port);
		const result = await autocannon({ url: 'http://127.0.0.1:51000/', method: 'POST', body: '(5+6)*2', duration: 8 });
		if (result.non2xx > 0 || result.errors > 0)
			throw new Error(`calculator: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
		return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
	} finally {
		for (const s of services) s.kill();
	}
}

async function listening(port: number): Promise<void> {
	for (let i = 0; i < 200; i++) {
		const open = await new Promise<boolean>((resolve) => {
			const socket = connect(port, '127.0.0.1', () => {
				socket.destroy();
				resolve(true);
			}).on('error', () => resolve(false));
		});
		if (open) return;
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error(`calculator service on port ${port} did not start`);
}

const dir = await mkdtemp(join(tmpdir(), 'labcheck-bench-'));
// Its scenarios and results (a few hundred MB) go with the bench, however it ends.
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
await writeFile(join(dir, 'all30.yaml'), lanScenario(30));
await writeFile(join(dir, 'dropped30.yaml'), lanScenario(30, 15));
await writeFile(join(dir, 'drop.mn'), 'h1 iptables -A INPUT -p icmp --icmp-type echo-request -j DROP\n');
await execa(process.execPath, [BIN, 'clean'], { reject: false });
if (!(await installed('mn'))) {
	say("installing Debian's mininet (and bridge-utils, for its lxbr switch) …");
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	await execa('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
	await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'mininet', 'bridge-utils'], {
		env,
		stdio: 'inherit',
	});
}

say('labcheck bench (medians; this machine, side by side)');
const nat = await repeat(5, () => labcheckRun(join(ROOT, 'scenarios/nat.yaml')));
say(`  nat.yaml full run                 ${median(nat).toFixed(2)} s`);
const all30 = await repeat(3, () => labcheckRun(join(dir, 'all30.yaml')));
const mn30 = [await mininet(30), await mininet(30)];
say(
	`  all pairs, 30 hosts: labcheck     ${median(all30).toFixed(2)} s   mininet ${median(mn30).toFixed(2)} s   ` +
		`ratio ${(median(all30) / median(mn30)).toFixed(2)}`,
);
const dropped = await repeat(3, () => labcheckRun(join(dir, 'dropped30.yaml')));
// Mininet waits ping's own timeout for every dropped pair: measured on 3 hosts, one of them silent
// (2 dropped ordered pairs), against the same 3 hosts all healthy.
const mnDropped = [await mininet(3, join(dir, 'drop.mn'))];
const mnHealthy3 = [await mininet(3)];
const perDropped = (median(mnDropped) - median(mnHealthy3)) / 2;
say(
	`  all pairs, 30 hosts, 15 dropping: labcheck ${median(dropped).toFixed(2)} s (660 dropped pairs); ` +
		`mininet ${perDropped.toFixed(2)} s per dropped pair`,
);
// 300 hosts on one LAN, all 89,700 pairs against the model, three times: the whole command, how many verdicts are
// right (every pair is reachable), and the peak memory of labcheck with its probe processes (summed, sampled).
const all300 = join(dir, 'all300.yaml');
await writeFile(all300, lanScenario(300, 0, false).concat('expect:\n  - ping * -> *: { expect: auto, count: 1 }\n'));
const json300 = join(dir, 'all300.json');
const runs300: Array<{ s: number; correct: number; rssMb: number }> = [];
for (let i = 0; i < 3; i++) {
	const started = performance.now();
	const run = execa(process.execPath, [BIN, 'run', all300, '-q', '--no-report', '--json', json300], { reject: false });
	let peak = 0;
	const sampler = setInterval(() => {
		peak = Math.max(peak, treeRss(run.pid!));
	}, 100);
	await run;
	clearInterval(sampler);
	const s = (performance.now() - started) / 1000;
	const results = (JSON.parse(await readFile(json300, 'utf8')) as { results: Array<{ status: string }> }).results;
	runs300.push({ s, correct: results.filter((r) => r.status === 'ok').length / 89_700, rssMb: peak / 1024 });
}
const allpairs300 = median(runs300.map((r) => r.s));
const allpairs300Correct = Math.min(...runs300.map((r) => r.correct));
const allpairs300Rss = median(runs300.map((r) => r.rssMb));
say(
	`  all pairs, 300 hosts (89,700 pings) ${allpairs300.toFixed(2)} s ` +
		`(${runs300.map((r) => r.s.toFixed(2)).join(' / ')}), ${(100 * allpairs300Correct).toFixed(2)} % right, ` +
		`${allpairs300Rss.toFixed(0)} MB (labcheck and its probe processes)`,
);
const routed = join(dir, 'routed.yaml');
await writeFile(routed, routedScenario());
const routedJson = join(dir, 'routed.json');
const routed20x15 = await seconds(() =>
	execa(process.execPath, [BIN, 'run', routed, '-q', '--no-report', '--json', routedJson], { reject: false }),
);
const routedResults = (JSON.parse(await readFile(routedJson, 'utf8')) as { results: Array<{ passed: boolean }> })
	.results;
const routedCorrect = routedResults.filter((r) => r.passed).length / routedResults.length;
say(
	`  routed 20 LANs × 15 hosts, all pairs (${routedResults.length}) ${routed20x15.toFixed(2)} s, ` +
		`${(100 * routedCorrect).toFixed(2)} % as the model predicts`,
);
await writeFile(join(dir, 'all100.yaml'), lanScenario(100));
const all100 = await repeat(3, () => labcheckRun(join(dir, 'all100.yaml')));
const mn100 = await mininet(100);
say(
	`  all pairs, 100 hosts (9,900 pings): labcheck ${median(all100).toFixed(2)} s   ` +
		`Mininet single,100 pingall ${mn100.toFixed(2)} s`,
);
const perNode: Record<string, number> = {};
for (const n of [10, 30, 100, 1000]) {
	perNode[n] = (median(await repeat(3, () => buildTeardown(n))) * 1000) / n;
	say(`  build + teardown, ${String(n).padStart(3)} nodes       ${perNode[n].toFixed(1)} ms per node`);
}
const calc = await calculator();
say(
	`  calculator (5 services, loopback) ${Math.round(calc.rps)} expressions/s, p50 ${calc.p50} ms, p99 ${calc.p99} ms`,
);

const results = {
	date: new Date().toISOString(),
	nat_run_s: median(nat),
	allpairs30_labcheck_s: median(all30),
	allpairs30_mininet_s: median(mn30),
	allpairs30_ratio: median(all30) / median(mn30),
	dropped30_labcheck_s: median(dropped),
	mininet_s_per_dropped_pair: perDropped,
	build_teardown_ms_per_node: perNode,
	allpairs300_s: allpairs300,
	allpairs300_runs_s: runs300.map((r) => r.s),
	allpairs300_correct: allpairs300Correct,
	allpairs300_rss_mb: allpairs300Rss,
	routed20x15_s: routed20x15,
	routed20x15_correct: routedCorrect,
	allpairs100_labcheck_s: median(all100),
	mininet_single100_pingall_s: mn100,
	calc_expr_per_s: calc.rps,
	calc_p50_ms: calc.p50,
	calc_p99_ms: calc.p99,
	runs: { nat, all30, mn30, dropped, mnDropped, mnHealthy3, all100 },
};
writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

// The targets, side by side with what this run measured.
const rows: Array<[string, string, string, boolean]> = [
	['nat.yaml full run', `${results.nat_run_s.toFixed(2)} s`, '≤ 1.0 s', results.nat_run_s <= 1],
	[
		'all pairs, 30 hosts, vs Mininet',
		`${results.allpairs30_labcheck_s.toFixed(2)} s vs ${results.allpairs30_mininet_s.toFixed(2)} s = ` +
			`${results.allpairs30_ratio.toFixed(2)}×`,
		'≤ 0.5×',
		results.allpairs30_ratio <= 0.5,
	],
	[
		'  the same, 15 hosts silent',
		`${results.dropped30_labcheck_s.toFixed(2)} s (Mininet ${perDropped.toFixed(1)} s per dropped pair)`,
		'≤ 3 s',
		results.dropped30_labcheck_s <= 3,
	],
	...Object.entries(perNode).map(([n, ms]): [string, string, string, boolean] => [
		`build + teardown, N = ${n}`,
		`${ms.toFixed(1)} ms per node`,
		n === '1000' ? '≤ 8 ms' : '≤ 20 ms',
		ms <= (n === '1000' ? 8 : 20),
	]),
	['all pairs, 300 hosts', `${allpairs300.toFixed(2)} s`, '≤ 10 s', allpairs300 <= 10],
	['  right', `${(100 * allpairs300Correct).toFixed(2)} %`, '100 %', allpairs300Correct === 1],
	['  memory', `${allpairs300Rss.toFixed(0)} MB`, '≤ 1024 MB', allpairs300Rss <= 1024],
	[
		'all pairs, 100 hosts, vs Mininet',
		`${median(all100).toFixed(2)} s vs ${mn100.toFixed(2)} s`,
		'faster',
		median(all100) < mn100,
	],
	[
		'routed 20 × 15, all pairs',
		`${routed20x15.toFixed(2)} s, ${(100 * routedCorrect).toFixed(2)} % right`,
		'correct',
		routedCorrect === 1,
	],
	['calculator throughput', `${Math.round(calc.rps)} expressions/s`, '≥ 2000/s', calc.rps >= 2000],
	['calculator p99 latency', `${calc.p99} ms`, '≤ 20 ms', calc.p99 <= 20],
];
say('');
for (const [what, measured, target, met] of rows)
	say(`${what.padEnd(34)}${measured.padEnd(44)}${target.padEnd(10)}${met ? '✓' : '✗'}`);
say('written to bench/results.json');
