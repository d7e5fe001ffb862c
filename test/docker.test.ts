// The Docker bridge lab on a real Docker engine (a dedicated dockerd inside the VM's namespace):
// LAB-REFERENCE §4, the management steps, no packet in the root namespace, and nothing left.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
	assertNothingLeft,
	dockerLeftovers,
	interruptBuild,
	labcheck,
	labNamespaces,
	labProcesses,
	snapshot,
	startSlowRun,
} from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('docker');

test.before(async () => {
	await labcheck(['clean']);
});

// Counting rules in the root namespace for every lab address range: a lab packet seen there would count.
// The lab's own ranges (docker0, VirtualBox NAT, the room) as source or destination, and the lab's
// emulated internet as source. Not 203.0.113.0/24 as a whole: this machine's own package registry may
// live there (it does here), and its traffic is not the lab's.
const WATCH = [
	...['172.17.0.0/16', '10.0.2.0/24', '10.1.0.0/16'].flatMap((range) => [
		['-s', range],
		['-d', range],
	]),
	['-s', '203.0.113.10/32'],
];
const COMMENT = 'labcheck-test-root-watch';
async function watchRoot(add: boolean): Promise<number> {
	let seen = 0;
	for (const [table, chain] of [
		['raw', 'PREROUTING'],
		['mangle', 'POSTROUTING'],
	]) {
		for (const [dir, range] of WATCH) {
			const rule = [dir, range, '-m', 'comment', '--comment', `${COMMENT} ${dir}${range}`];
			if (add) await execa('iptables', ['-t', table, '-I', chain, ...rule]);
			else {
				const { stdout } = await execa('iptables', ['-t', table, '-L', chain, '-v', '-x', '-n']);
				seen += stdout
					.split('\n')
					.filter((l) => l.includes(`${COMMENT} ${dir}${range}`))
					.reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
				await execa('iptables', ['-t', table, '-D', chain, ...rule], { reject: false });
			}
		}
	}
	return seen;
}

type Result = {
	id: string;
	step: number;
	actual: string;
	predicted?: string;
	status: string;
	seenFrom?: string;
	explanation?: string;
};
type Report = {
	results: Result[];
	actions: Array<{ step: number; action: string; ok: boolean; passed: boolean; detail: string }>;
};

test.serial(
	'docker-bridge reproduces LAB-REFERENCE §4 and its management steps, with no packet in the root namespace',
	async (t) => {
		const before = await snapshot();
		await watchRoot(true);
		const json = join(tmp, 'docker.json');
		let run: Awaited<ReturnType<typeof labcheck>>;
		try {
			run = await labcheck(['run', 'scenarios/docker-bridge.yaml', '--json', json, '--report', join(tmp, 'docker.md')]);
		} finally {
			t.is(await watchRoot(false), 0, 'no lab packet reached the root namespace');
		}
		t.is(run.exitCode, 0, `${run.stdout}${run.stderr}`);
		const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
		for (const r of report.results.filter((x) => !x.id.startsWith('exec')))
			t.is(r.predicted, r.actual, `the model predicted ${r.id} at step ${r.step}`);
		const at = (step: number) =>
			Object.fromEntries(report.results.filter((r) => r.step === step).map((r) => [r.id, r.actual]));
		t.deepEqual(at(0), {
			'ping ct1 -> internet': 'reachable',
			'ping ct1 -> vm': 'reachable',
			'ping vm -> ct1': 'reachable',
			'ping host -> ct1': 'unreachable',
			'ssh vm -> vm:2223': 'reachable',
		});
		const seen = report.results.find((r) => r.id === 'ssh vm -> vm:2223' && r.step === 0)!;
		t.regex(seen.explanation!, /vm publishes tcp 2223 to ct2 172\.17\.0\.3:22/);
		const refused = report.actions.find((a) => a.step === 2)!;
		t.false(refused.ok);
		t.true(refused.passed, 'the scenario expected the refusal');
		t.regex(refused.detail, /cannot remove a running container/);
		t.deepEqual(at(3), { 'ssh vm -> vm:2223': 'unreachable', 'ping vm -> ct2': 'unreachable' });
		t.deepEqual(
			at(4),
			{ 'exec ct3 -- nano': 'succeeds', 'ping ct3 -> internet': 'reachable' },
			'the snapshot kept nano',
		);
		t.deepEqual(at(5), { 'exec ct4 -- nano': 'succeeds' }, 'the recipe builds the same state');
		const md = readFileSync(join(tmp, 'docker.md'), 'utf8');
		t.true(md.includes('### Step 2: a running container cannot be removed'));
		t.regex(md, /`ping host -> ct1` ✗: 172\.17\.0\.2 is on vm's Docker network docker0/);
		await assertNothingLeft(t, before);
	},
);

test.serial(
	'user-defined and internal Docker networks: reachable inside, isolated from each other, no way out when internal',
	async (t) => {
		const before = await snapshot();
		const json = join(tmp, 'networks.json');
		const run = await labcheck(['run', 'scenarios/docker-networks.yaml', '--json', json, '--no-report']);
		t.is(run.exitCode, 0, `${run.stdout}${run.stderr}`);
		const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
		for (const r of report.results) t.is(r.predicted, r.actual, `the model predicted ${r.id}`);
		t.deepEqual(Object.fromEntries(report.results.map((r) => [r.id, r.actual])), {
			'ping worker -> api': 'reachable',
			'http worker -> api': 'reachable',
			'ping api -> internet': 'reachable',
			'ping web -> api': 'unreachable',
			'ping keeper -> secrets': 'reachable',
			'ping secrets -> internet': 'unreachable',
			'ping vm -> api': 'reachable',
		});
		t.regex(
			report.results.find((r) => r.id === 'ping web -> api')!.explanation!,
			/Docker isolates its bridge networks/,
		);
		await assertNothingLeft(t, before);
	},
);

test.serial('a container with a missing image fails the build with the fix, and leaves nothing', async (t) => {
	const before = await snapshot();
	const file = join(tmp, 'missing-image.yaml');
	await execa('sh', [
		'-c',
		`cat > ${file} <<'EOF'
name: missing image
networks: { room: { subnet: 10.1.0.0/16 } }
nodes:
  vm: { kind: vm, on: room }
  ct: { kind: container, docker: vm, image: no-such-image }
expect:
  - ping vm -> ct: reachable
EOF`,
	]);
	const run = await labcheck(['run', file, '--no-report']);
	t.is(run.exitCode, 3);
	t.regex(run.stderr as string, /image "no-such-image" is not available/);
	await assertNothingLeft(t, before);
});

test.serial('Ctrl-C during a Docker run stops its engine and removes everything', async (t) => {
	const before = await snapshot();
	const { child } = await startSlowRun('fixtures/slow-docker.yaml');
	t.true((await dockerLeftovers()).length > 0, 'the engine was up when interrupted');
	child.kill('SIGINT');
	const run = await child;
	t.is(run.exitCode, 130);
	await assertNothingLeft(t, before);
});

test.serial('Ctrl-C while the Docker engine is starting stops it and removes everything', async (t) => {
	// Once dockerd runs, its networks, the image and the containers are still to come.
	await interruptBuild(t, 'fixtures/slow-docker.yaml', async () =>
		(await labProcesses()).some((p) => /dockerd/.test(p)),
	);
});

test.serial(
	'after a killed Docker run, `labcheck clean` stops its engine and removes containers, data and cgroups',
	async (t) => {
		const before = await snapshot();
		const { child } = await startSlowRun('fixtures/slow-docker.yaml');
		child.kill('SIGKILL');
		await child;
		t.true(
			(await labNamespaces()).length > 0 && (await dockerLeftovers()).length > 0,
			'SIGKILL left the lab and its engine behind',
		);
		const clean = await labcheck(['clean']);
		t.is(clean.exitCode, 0, clean.stderr as string);
		await assertNothingLeft(t, before);
	},
);
