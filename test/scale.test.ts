// What makes big matrices cheap, checked for correctness (timings live in `npm run bench`): probes
// run in labcheck's own process (a big lab's in a probe process per core) with sockets opened inside each node's
// namespace, many silent pairs time out together, and a reply that arrived in time counts even when the machine is
// saturated.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { NetNamespace } from '../src/net/namespace.js';
import { assertNothingLeft, BIN, labcheck, labNamespaces, labProcesses, ROOT, snapshot } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('scale');

/**
 * A LAN of `n` hosts, the first `silent` of them with a security group without ICMP: they answer no ping and get no
 * reply.
 */
function lan(n: number, silent: number, wildcard = false): { file: string; expected: Record<string, string> } {
	const hosts = Array.from({ length: n }, (_, i) => `h${i + 1}`);
	const lines = ['name: all pairs', 'networks: { lan: { subnet: 10.0.0.0/24 } }', 'nodes:'];
	for (const [i, h] of hosts.entries())
		lines.push(`  ${h}: { kind: host, on: lan, address: 10.0.0.${i + 10}${i < silent ? ', security_group: []' : ''} }`);
	lines.push('expect:');
	const expected: Record<string, string> = {};
	for (const [i, a] of hosts.entries())
		for (const [j, b] of hosts.entries()) {
			if (i === j) continue;
			expected[`ping ${a} -> ${b}`] = i < silent || j < silent ? 'unreachable' : 'reachable';
			if (!wildcard) lines.push(`  - ping ${a} -> ${b}: { expect: ${expected[`ping ${a} -> ${b}`]}, count: 1 }`);
		}
	if (wildcard) lines.push('  - ping * -> *: { expect: auto, count: 1 }');
	const file = join(tmp, `lan-${n}-${silent}${wildcard ? '-wildcard' : ''}.yaml`);
	writeFileSync(file, `${lines.join('\n')}\n`);
	return { file, expected };
}

async function runMatrix(
	t: import('ava').ExecutionContext,
	n: number,
	silent: number,
	flags: string[] = [],
	wildcard = false,
	env: Record<string, string> = {},
) {
	const { file, expected } = lan(n, silent, wildcard);
	const json = join(tmp, 'results.json');
	const run = await labcheck(['run', file, '--json', json, '--no-report', '-q', ...flags], env);
	t.is(
		run.exitCode,
		0,
		run.stdout
			.split('\n')
			.filter((l) => l.includes('✖'))
			.slice(0, 5)
			.join('\n') + run.stderr,
	);
	const results = (
		JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ id: string; actual: string; status: string }> }
	).results;
	t.deepEqual(Object.fromEntries(results.map((r) => [r.id, r.actual])), expected);
	t.true(
		results.filter((r) => r.actual === 'unreachable').every((r) => r.status === 'filtered'),
		'silent pairs are silent drops',
	);
}

test.serial("a socket opened through a node's network belongs to the node, not to labcheck's namespace", async (t) => {
	const name = `lc-test-${process.pid}`;
	await execa('ip', ['netns', 'add', name]);
	const server = createServer((s) => s.end()).listen(0, '127.0.0.1');
	await new Promise((r) => server.once('listening', r));
	const { port } = server.address() as AddressInfo;
	const network = NetNamespace.open(`/run/netns/${name}`);
	try {
		t.notRegex(
			network.within(() => readFileSync('/proc/thread-self/net/dev', 'utf8')),
			/eth0|ens|enp/,
			"inside, only the namespace's own lo",
		);
		t.regex(readFileSync('/proc/thread-self/net/dev', 'utf8'), /lo:/, 'and labcheck is back home afterwards');
		// labcheck's own loopback has a listener on `port`; the node's loopback is down and has none.
		const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
			network
				.connect('127.0.0.1', port)
				.once('connect', () => resolve(undefined))
				.once('error', resolve);
		});
		t.truthy(error, "the connection did not reach the listener in labcheck's namespace");
		t.regex(error!.code ?? '', /ENETUNREACH|ECONNREFUSED/);
	} finally {
		network.close();
		server.close();
		await execa('ip', ['netns', 'del', name]);
	}
	t.throws(() => network.within(() => 0), { message: /closed/ }, 'a closed network opens nothing');
});

test.serial('a 16-host matrix with 8 silent hosts: all 240 cells right, nothing left behind', async (t) => {
	const before = await snapshot();
	await runMatrix(t, 16, 8);
	await assertNothingLeft(t, before);
});

test.serial(
	'"ping * -> *: auto" on the same LAN: 240 pairs, the model\'s expectation for each, all held',
	async (t) => {
		await runMatrix(t, 16, 8, [], true);
	},
);

test.serial('probes handed to two probe processes (as a big lab does): the same 240 cells, none left', async (t) => {
	const before = await snapshot();
	await runMatrix(t, 16, 8, [], false, { LABCHECK_PROBERS: '2' });
	const shown = await labcheck(['run', lan(4, 1).file, '--no-report', '-v'], { LABCHECK_PROBERS: '2' });
	t.regex(shown.stdout, /probes run from 2 processes/);
	const small = await labcheck(['run', lan(4, 1).file, '--no-report', '-v']);
	t.notRegex(small.stdout, /probes run from/, 'a small lab keeps its probes in process');
	await assertNothingLeft(t, before);
});

test.serial('a killed run leaves no probe process: they end with labcheck; clean removes the lab', async (t) => {
	const before = await snapshot();
	const file = join(tmp, 'killed-probers.yaml');
	writeFileSync(
		file,
		[
			'name: killed mid-run',
			'networks: { lan: { subnet: 10.0.0.0/24 } }',
			'nodes:',
			'  h1: { kind: host, on: lan, address: 10.0.0.10, security_group: [] }',
			'  h2: { kind: host, on: lan, address: 10.0.0.11 }',
			'  h3: { kind: host, on: lan, address: 10.0.0.12 }',
			'expect:',
			'  - ping * -> *: { expect: auto, count: 1, timeout: 20000 }',
			'',
		].join('\n'),
	);
	const child = execa(process.execPath, [BIN, 'run', file, '--no-report', '-v'], {
		cwd: ROOT,
		reject: false,
		env: { FORCE_COLOR: '0', LABCHECK_PROBERS: '2' },
	});
	let out = '';
	await new Promise<void>((resolve) => {
		child.stdout!.on('data', (d: Buffer) => {
			out += d;
			if (/held|reachable/.test(out)) resolve(); // the healthy pairs answered: the silent ones wait 20 s
		});
		void child.then(() => resolve());
	});
	t.regex(out, /probes run from 2 processes/);
	const probers = async () => (await labProcesses()).filter((l) => /prober\.js/.test(l));
	t.is((await probers()).length, 2, 'two probe processes were running');
	child.kill('SIGKILL');
	await child;
	for (let i = 0; i < 50 && (await probers()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
	t.deepEqual(await probers(), [], 'the probe processes ended with labcheck');
	t.is((await labcheck(['clean'])).exitCode, 0);
	await assertNothingLeft(t, before);
});

test.serial('the verdicts hold while three busy loops saturate both CPUs', async (t) => {
	const hog = spawn('sh', ['-c', 'for i in 1 2 3; do (while :; do :; done) & done; wait'], {
		detached: true,
		stdio: 'ignore',
	});
	try {
		await runMatrix(t, 12, 6);
	} finally {
		process.kill(-hog.pid!, 'SIGKILL');
	}
});

test.serial(
	'with --concurrency 1 (one probe at a time) every cell is still right; a bad value is a usage error',
	async (t) => {
		await runMatrix(t, 4, 1, ['--concurrency', '1']);
		const bad = await labcheck(['run', lan(4, 1).file, '--concurrency', 'lots']);
		t.is(bad.exitCode, 2);
		t.regex(bad.stderr, /--concurrency.*'lots' is invalid\. a whole number of probes/);
		t.deepEqual(await labNamespaces(), [], 'nothing was built');
	},
);

test.serial('every probe tells a refusal from silence, from inside the node', async (t) => {
	const file = join(tmp, 'negatives.yaml');
	writeFileSync(
		file,
		[
			'name: negatives',
			'networks: { lan: { subnet: 10.0.0.0/24 }, elsewhere: { subnet: 10.0.1.0/24 } }',
			'nodes:',
			'  a: { kind: host, on: lan, address: 10.0.0.10 }',
			'  far: { kind: host, on: elsewhere, address: 10.0.1.10 }',
			'  silent: { kind: host, on: lan, address: 10.0.0.11, security_group: [] }',
			'  closed: { kind: host, on: lan, address: 10.0.0.12 }',
			'expect:',
			'  - tcp a -> closed:22: unreachable',
			'  - tcp a -> silent:22: unreachable',
			'  - http a -> closed:8080: unreachable',
			'  - http a -> silent:8080: { expect: unreachable, timeout: 400 }',
			'  - ssh a -> closed:2222: unreachable',
			'  - ssh a -> silent: { expect: unreachable, timeout: 400 }',
			'  - ping a -> silent: unreachable',
			'  - tcp a -> far:22: unreachable',
			'',
		].join('\n'),
	);
	const json = join(tmp, 'negatives.json');
	const run = await labcheck(['run', file, '--json', json, '--no-report']);
	t.is(run.exitCode, 0, run.stdout + run.stderr);
	const status = Object.fromEntries(
		(JSON.parse(readFileSync(json, 'utf8')) as { results: Array<{ id: string; status: string }> }).results.map((r) => [
			r.id,
			r.status,
		]),
	);
	t.deepEqual(status, {
		'tcp a -> closed:22': 'refused',
		'tcp a -> silent:22': 'filtered',
		'http a -> closed:8080': 'refused',
		'http a -> silent:8080': 'filtered',
		'ssh a -> closed:2222': 'refused',
		'ssh a -> silent': 'filtered',
		'ping a -> silent': 'filtered',
		'tcp a -> far:22': 'no-route',
	});
});

/** Packets the kernel refused a neighbour entry for, machine-wide (its ARP table is shared by every namespace). */
const tableFulls = () =>
	readFileSync('/proc/net/stat/arp_cache', 'utf8')
		.trim()
		.split('\n')
		.slice(1)
		.reduce((sum, line) => sum + Number.parseInt(line.trim().split(/\s+/).at(-1)!, 16), 0);

test.serial(
	"60 hosts all pairs: the kernel's shared ARP table would refuse most; written neighbours make all 3,540 right, " +
		"and what the table refuses is labcheck's error, never filtered",
	async (t) => {
		// Two hosts drop ICMP (silent pairs must still read filtered); a step poisons one neighbour entry on purpose
		// (a broken ARP must still show).
		const { file: plain } = lan(60, 2, true);
		const file = join(tmp, 'lan60-poisoned.yaml');
		writeFileSync(
			file,
			`${readFileSync(plain, 'utf8')}steps:\n  - name: poison h10's entry for h11\n    do:\n` +
				'      - exec h10 -- ip neigh replace 10.0.0.20 lladdr 02:00:00:00:00:99 dev eth0 nud permanent\n' +
				'    expect:\n      - ping h10 -> h11: unreachable\n      - ping h10 -> h12: reachable\n',
		);
		const json = join(tmp, 'lan60.json');
		const fulls = tableFulls();
		const run = await labcheck(['run', file, '--json', json, '--no-report', '-v']);
		t.is(run.exitCode, 0, run.stdout.split('\n').slice(-5).join('\n'));
		// The machine's table decides (1024 entries by default: a quarter is the lab's budget, 3,540 are needed).
		const gcThresh3 = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8'));
		if (60 * 59 > gcThresh3 / 4) t.regex(run.stdout, /lan: neighbours written in advance/);
		else t.notRegex(run.stdout, /neighbours written in advance/, `this machine's table holds ${gcThresh3}`);
		t.is(tableFulls(), fulls, 'no neighbour entry was refused');
		type Result = { id: string; status: string; detail: string; step: number };
		const statuses = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results;
		const silent = (r: Result) => /\bh[12]\b/.test(r.id);
		const built = statuses(json).filter((r) => r.step === 0);
		t.is(built.length, 3540);
		t.true(built.filter((r) => !silent(r)).every((r) => r.status === 'ok'));
		t.true(
			built.filter(silent).every((r) => r.status === 'filtered'),
			'a silently dropped pair reads filtered',
		);
		const poisoned = statuses(json).filter((r) => r.step === 1);
		t.deepEqual(
			poisoned.map((r) => `${r.id} ${r.status}`),
			['ping h10 -> h11 filtered', 'ping h10 -> h12 ok'],
			'the poisoned entry shows; the others stand',
		);
		// A 60-column matrix does not fit 160 columns: a summary by source instead; -q prints no matrix at all.
		t.regex(run.stdout, /60 × 60 matrix, \d+ columns wide \(the terminal has 160\)/);
		t.regex(run.stdout, /h1 … h2 \(2 sources\): ✗ 59 {2}all held/);
		t.regex(run.stdout, /h3 … h60 \(58 sources\): ✓ 57 {2}✗ 2 {2}all held/);
		const quiet = await labcheck(['run', file, '--no-report', '-q']);
		t.is(quiet.exitCode, 0);
		t.notRegex(quiet.stdout, /matrix|from \\ to|✓ reachable/);
		// The same lab left to ARP (as labcheck built it before): the table overflows, and the pairs it refused are
		// errors naming the machine's limit.
		const forced = join(tmp, 'lan60-arp.json');
		const arp = await execa(process.execPath, [BIN, 'run', file, '--json', forced, '--no-report', '-q'], {
			cwd: ROOT,
			reject: false,
			env: { FORCE_COLOR: '0', LABCHECK_NEIGHBOUR_BUDGET: '100000' },
		});
		const results = statuses(forced).filter((r) => r.step === 0);
		t.false(
			results.some((r) => !silent(r) && r.status === 'filtered'),
			'no pair of two healthy hosts reads as filtered',
		);
		if (gcThresh3 < 60 * 59) {
			t.is(arp.exitCode, 1);
			t.true(results.some((r) => r.status === 'error' && /labcheck's limit, not the network's/.test(r.detail)));
		} else t.is(arp.exitCode, 0, `this machine's table holds ${gcThresh3} entries: no overflow to show`);
	},
);

test.serial(
	"an ICMP socket that overflows (a tiny buffer, forced) gives labcheck's errors, never filtered nor a held check",
	async (t) => {
		// 30 hosts, two silent: 870 pings. A node's socket keeps only replies and ICMP errors (ICMP_FILTER): even at the
		// smallest buffer the kernel allows it never overflowed (870, 3,540 and 9,900 pings, all right). Let in, as before
		// the filter, every other node's echo requests fill it.
		const { file } = lan(30, 2, true);
		const json = join(tmp, 'tiny-buffer.json');
		const tiny = { FORCE_COLOR: '0', LABCHECK_ICMP_BUFFER: '1' };
		const filtered = await labcheck(['run', file, '--no-report', '-q'], tiny);
		t.is(filtered.exitCode, 0, filtered.stdout);
		const run = await execa(process.execPath, [BIN, 'run', file, '--json', json, '--no-report', '-q'], {
			cwd: ROOT,
			reject: false,
			env: { ...tiny, LABCHECK_ICMP_FILTER: '0' },
		});
		const results = (
			JSON.parse(readFileSync(json, 'utf8')) as {
				results: Array<{ id: string; status: string; detail: string; passed: boolean }>;
			}
		).results;
		const silent = (id: string) => /\bh[12]\b/.test(id);
		t.true(
			results.filter((r) => !silent(r.id)).every((r) => r.status === 'ok' || r.status === 'error'),
			'no pair of two healthy hosts reads filtered',
		);
		const lost = results.filter((r) => r.status === 'error');
		t.true(lost.length > 0, 'the forced buffer overflowed');
		t.true(lost.every((r) => /socket dropped \d+ packet\(s\).*labcheck's limit, not the network's/.test(r.detail)));
		t.true(
			lost.every((r) => !r.passed),
			'a check lost to labcheck holds no expectation, not even unreachable',
		);
		t.is(run.exitCode, 1);
		// The default buffer: all 870 right.
		const normal = await labcheck(['run', file, '--no-report', '-q']);
		t.is(normal.exitCode, 0, normal.stdout);
	},
);
