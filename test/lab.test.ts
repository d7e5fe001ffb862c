// Builds every shipped scenario for real (namespaces, iptables, sshd, HTTP services) and checks the
// measured matrix against LAB-REFERENCE, then that nothing of the run is left on the machine.
// Serial: the leftover checks look at the whole machine.
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { mkdirSync, symlinkSync } from 'node:fs';
import {
	assertNothingLeft,
	BIN,
	interruptBuild,
	ROOT,
	labcheck,
	labNamespaces,
	snapshot,
	startSlowRun,
} from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('test');

// LAB-REFERENCE §1-§3, written here independently of the scenarios' own expectations.
const REFERENCE: Record<string, Record<string, 'reachable' | 'unreachable'>> = {
	'scenarios/nat.yaml': {
		'ping vm -> internet': 'reachable',
		'ping vm -> host': 'reachable',
		'ping vm -> neighbour': 'reachable',
		'ping host -> vm': 'unreachable',
		'ping neighbour -> vm': 'unreachable',
	},
	'scenarios/port-forward.yaml': {
		'ssh host -> host:1234': 'reachable',
		'ping host -> vm': 'unreachable',
		'ssh neighbour -> host:1234': 'reachable',
		'ping neighbour -> vm': 'unreachable',
		'http host -> host:50000': 'reachable',
	},
	// §1: the guest's resolver is the NAT engine at 10.0.2.3; forwards carry one protocol each.
	'scenarios/dns.yaml': {
		'dns vm -> 10.0.2.3': 'reachable',
		'dns host -> 10.0.2.3': 'unreachable',
		'dns neighbour -> host:5353': 'reachable',
		'udp neighbour -> host:1234': 'unreachable',
		'udp vm -> neighbour:7': 'reachable',
		'udp neighbour -> vm:53': 'unreachable',
		'ssh neighbour -> host:1234': 'reachable',
	},
	'scenarios/bridge.yaml': {
		'ping vm -> internet': 'reachable',
		'ping vm -> host': 'reachable',
		'ping vm -> neighbour': 'reachable',
		'ping host -> vm': 'reachable',
		'ping neighbour -> vm': 'reachable',
		'ping internet -> vm': 'reachable',
		'ping internet -> host': 'reachable',
		'ssh neighbour -> vm': 'reachable',
	},
};

type Result = {
	id: string;
	actual: string;
	predicted?: string;
	passed: boolean;
	status: string;
	seenFrom?: string;
	detail: string;
	explanation?: string;
};
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { labId: string; results: Result[] };

// Start from a clean machine, as Mininet's tests do with `mn -c`: leftovers of an earlier crash are not this run's.
test.before(async () => {
	await labcheck(['clean']);
});

for (const [scenario, expected] of Object.entries(REFERENCE)) {
	test.serial(`${scenario} reproduces LAB-REFERENCE and leaves nothing behind`, async (t) => {
		const before = await snapshot();
		const json = join(tmp, `${scenario.replace(/\W/g, '_')}.json`);
		const run = await labcheck(['run', scenario, '--json', json, '--report', join(tmp, 'r.md')]);
		t.is(run.exitCode, 0, run.stdout + run.stderr);
		const measured = Object.fromEntries(readJson(json).results.map((r) => [r.id, r.actual]));
		t.deepEqual(measured, expected);
		t.deepEqual(
			Object.fromEntries(readJson(json).results.map((r) => [r.id, r.predicted])),
			expected,
			'the model predicted the lab',
		);
		await assertNothingLeft(t, before);
	});
}

test.serial(
	'port forwarding is NAT at work: the VM sees 10.0.2.2, SSH logs in, the calculator answers 22',
	async (t) => {
		const json = join(tmp, 'pf.json');
		const run = await labcheck(['run', 'scenarios/port-forward.yaml', '--json', json, '--no-report']);
		t.is(run.exitCode, 0, run.stdout + run.stderr);
		const byId = Object.fromEntries(readJson(json).results.map((r) => [r.id, r]));
		t.is(byId['ssh neighbour -> host:1234'].seenFrom, '10.0.2.2');
		t.is(byId['ssh host -> host:1234'].seenFrom, '10.0.2.2');
		t.regex(byId['http host -> host:50000'].detail, /result = 22/);
		t.is(byId['ping host -> vm'].status, 'filtered', 'a silent drop, as the students saw: timeout');
		t.regex(byId['ping host -> vm'].explanation!, /inside host's NAT engine/);
	},
);

test.serial(
	'UDP and DNS: the NAT engine resolves lab names for its guest only, a UDP forward carries DNS, ' +
		'ICMP port unreachable is "refused"',
	async (t) => {
		const json = join(tmp, 'dns.json');
		const run = await labcheck(['run', 'scenarios/dns.yaml', '--json', json, '--no-report']);
		t.is(run.exitCode, 0, run.stdout + run.stderr);
		const byId = Object.fromEntries(readJson(json).results.map((r) => [r.id, r]));
		t.regex(byId['dns vm -> 10.0.2.3'].detail, /^internet\.lab → 203\.0\.113\.10 \(from 10\.0\.2\.3:53\)/);
		t.regex(byId['dns neighbour -> host:5353'].detail, /^neighbour\.lab → 10\.1\.5\.39/);
		t.regex(byId['dns neighbour -> host:5353'].explanation!, /port forward 5353\/udp → vm 10\.0\.2\.15:53/);
		t.is(byId['udp neighbour -> host:1234'].status, 'refused', 'ICMP port unreachable: a TCP-only forward');
		t.regex(byId['udp neighbour -> host:1234'].explanation!, /nothing listens on 10\.1\.5\.22:1234\/udp/);
		t.is(byId['dns host -> 10.0.2.3'].status, 'filtered');
		t.regex(
			byId['dns host -> 10.0.2.3'].explanation!,
			/host's NAT engine's resolver: only vm, inside the NAT, can ask it/,
		);
		t.is(byId['udp vm -> neighbour:7'].seenFrom, '10.1.5.22', 'the echo service saw the NAT engine hide the guest');
		t.is(byId['udp neighbour -> vm:53'].status, 'filtered');
		// A name nobody has is an answer that says so: the resolver answered, the expectation does not hold.
		const other = join(tmp, 'dns-nx.yaml');
		writeFileSync(
			other,
			readFileSync(join(ROOT, 'scenarios/dns.yaml'), 'utf8').replace(
				/^expect:[\s\S]*$/m,
				'expect:\n  - dns vm -> 10.0.2.3: { expect: reachable, name: nowhere.lab }\n',
			),
		);
		const nx = await labcheck(['run', other, '--json', json, '--no-report']);
		t.is(nx.exitCode, 1);
		const r = readJson(json).results[0];
		t.is(r.status, 'ok');
		t.regex(r.detail, /nowhere\.lab: no such name \(NXDOMAIN\)/);
	},
);

test.serial('report.md reads like a lab report: addresses, matrix, verdicts, why, evidence, footer', async (t) => {
	const report = join(tmp, 'nat.md');
	const run = await labcheck(['run', 'scenarios/nat.yaml', '--report', report]);
	t.is(run.exitCode, 0);
	const md = readFileSync(report, 'utf8');
	t.true(md.startsWith('# VirtualBox NAT\n'));
	for (const heading of [
		'## Nodes and addresses',
		'## Connectivity matrix',
		'## Expectations',
		'## Why',
		'## Evidence',
	]) {
		t.true(md.includes(`\n${heading}\n`), heading);
	}
	t.true(md.includes('| **vm** | vm | eth0 | 10.0.2.15/24 | vm-nat | default via 10.0.2.2 | — |'));
	t.true(md.includes('| from \\ to | internet | host | neighbour | vm |'));
	t.true(md.includes('| vm | ✓ ping | ✓ ping | ✓ ping | · |'));
	t.true(md.includes('| neighbour | · | · | · | ✗ ping |'));
	t.regex(md, /`ping neighbour -> vm` ✗: 10\.0\.2\.15 is behind host's NAT/);
	t.regex(md, /3 packets transmitted, 3 received, 0% packet loss/);
	t.regex(md, /Reproduce: `npx labcheck run scenarios\/nat\.yaml/);
	t.regex(run.stdout, /✔ all 5 expectations held/);
});

test.serial('a run whose expectations fail exits 1, says why, redacts the password, and leaves nothing', async (t) => {
	const before = await snapshot();
	const json = join(tmp, 'failing.json');
	const md = join(tmp, 'failing.md');
	const run = await labcheck(['run', 'fixtures/failing.yaml', '--json', json, '--report', md]);
	t.is(run.exitCode, 1, run.stderr);
	const byId = Object.fromEntries(readJson(json).results.map((r) => [r.id, r]));
	t.true(byId['ping vm -> internet'].passed);
	t.false(byId['ping host -> vm'].passed);
	t.false(byId['ssh host -> host:1234'].passed);
	t.is(byId['tcp host -> host:2222'].status, 'refused');
	t.regex(run.stdout, /✖ 3 of 4 expectations failed/);
	const everything = readFileSync(json, 'utf8') + readFileSync(md, 'utf8') + run.stdout + run.stderr;
	t.false(everything.includes('hunter2'), 'the password never reaches a report or the log');
	t.true(readFileSync(md, 'utf8').includes('**⚠ ✗ ping** (expected reachable)'));
	await assertNothingLeft(t, before);
});

test.serial('an invalid scenario builds nothing and exits 2 with one positioned line', async (t) => {
	const run = await labcheck(['run', 'scenarios/nat.yaml', 'fixtures/invalid/unknown-node.yaml']);
	t.is(run.exitCode, 2);
	t.is(run.stderr, '✖ fixtures/invalid/unknown-node.yaml:11:5: unknown node "vn" — did you mean "vm"?\n');
	t.is(run.stdout, '', 'not even the valid file before it ran');
	t.deepEqual(await labNamespaces(), []);
});

test.serial('Ctrl-C in the middle of a probe tears the lab down', async (t) => {
	const before = await snapshot();
	const { child } = await startSlowRun('fixtures/slow.yaml');
	t.true((await labNamespaces()).length > 0, 'the lab was up when interrupted');
	child.kill('SIGINT');
	const run = await child;
	t.is(run.exitCode, 130);
	t.regex(run.stderr, /SIGINT: tearing the lab down/);
	// The probe in flight did not finish: it is neither judged nor reported as failed, and the run says it was
	// interrupted.
	t.notRegex(run.stdout, /ping host -> vm/);
	t.regex(run.stdout, /interrupted by SIGINT: 0 of 1 checks finished/);
	t.notRegex(run.stdout, /expectations (held|failed)/);
	await assertNothingLeft(t, before);
});

test.serial('an interrupted run writes reports that say so, and `labcheck report` keeps saying it', async (t) => {
	const json = join(tmp, 'interrupted.json');
	const md = join(tmp, 'interrupted.md');
	const child = labcheck([
		'run',
		'fixtures/slow.yaml',
		'--report',
		md,
		'--json',
		json,
		'--junit',
		join(tmp, 'interrupted.xml'),
	]);
	for (let i = 0; i < 400 && !(await labNamespaces()).some((n) => n.endsWith('-vm')); i++)
		await new Promise((r) => setTimeout(r, 25));
	await new Promise((r) => setTimeout(r, 1500));
	child.kill('SIGTERM');
	const run = await child;
	t.is(run.exitCode, 143, run.stderr as string);
	const saved = JSON.parse(readFileSync(json, 'utf8'));
	t.is(saved.interrupted, 'SIGTERM');
	t.is(saved.results.length, 0, 'the probe cut short is not a result');
	t.is(saved.failed, 0);
	t.regex(readFileSync(md, 'utf8'), /Run interrupted by SIGTERM/);
	t.regex(readFileSync(join(tmp, 'interrupted.xml'), 'utf8'), /<error message="interrupted by SIGTERM/);
	const again = await labcheck(['report', json, '--report', join(tmp, 'again.md')]);
	t.is(again.exitCode, 1, 'an interrupted run is not a passing one');
	t.regex(readFileSync(join(tmp, 'again.md'), 'utf8'), /Run interrupted by SIGTERM/);
});

test.serial('an error nothing caught, mid-run, still tears the lab down and exits 3', async (t) => {
	const before = await snapshot();
	// A real uncaught exception in the CLI's process, thrown while the slow fixture's probe waits (20 s).
	const crash = `data:text/javascript,setTimeout(() => { throw new Error("injected crash") }, 4000)`;
	const run = await execa(process.execPath, ['--import', crash, BIN, 'run', 'fixtures/slow.yaml', '--no-report'], {
		cwd: ROOT,
		reject: false,
		env: { FORCE_COLOR: '0' },
	});
	t.is(run.exitCode, 3, run.stderr);
	t.regex(
		run.stderr,
		/labcheck failed unexpectedly \(a bug — please report it\): Error: injected crash[\s\S]*tearing the lab down/,
	);
	await assertNothingLeft(t, before);
});

test.serial('Ctrl-C while the lab is being built tears down what exists and what the build was making', async (t) => {
	// Once the namespaces exist, links, sshd and the calculator are still to come.
	await interruptBuild(t, 'fixtures/slow.yaml', async () => (await labNamespaces()).length > 0);
});

test.serial('after a killed run, `labcheck clean` removes what it left', async (t) => {
	const before = await snapshot();
	const { child } = await startSlowRun('fixtures/slow.yaml');
	child.kill('SIGKILL');
	await child;
	t.true((await labNamespaces()).length > 0, 'SIGKILL left the lab behind');
	const clean = await labcheck(['clean']);
	t.is(clean.exitCode, 0);
	t.regex(clean.stdout, /removed 1 lab\(s\), 7 namespace\(s\)/);
	await assertNothingLeft(t, before);
});

test.serial('up keeps the lab: exec reaches the calculator through the forward, down removes it', async (t) => {
	const before = await snapshot();
	const brnf = '/proc/sys/net/bridge/bridge-nf-call-iptables';
	const machineBrnf = existsSync(brnf) ? readFileSync(brnf, 'utf8') : undefined;
	const up = await labcheck(['up', 'scenarios/port-forward.yaml']);
	t.is(up.exitCode, 0, up.stdout + up.stderr);
	t.regex(up.stdout, /lab \w{4} is up/);
	const addr = await labcheck(['exec', 'host', '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
	t.regex(addr.stdout, /inet 10\.1\.5\.22\/16/);
	const curl = await labcheck([
		'exec',
		'neighbour',
		'--',
		process.execPath,
		'-e',
		'fetch("http://10.1.5.22:50000/", { method: "POST", body: "(5+6)*2" })' +
			'.then((r) => r.text()).then((b) => process.stdout.write(b))',
	]);
	t.is(curl.stdout, 'result = 22\r\n');
	const sshLine = /ssh: +npx labcheck (exec host -- ssh .*)$/m.exec(up.stdout as string)![1];
	const ssh = await labcheck([...sshLine.split(' '), 'echo', '$SSH_CONNECTION']);
	t.regex(ssh.stdout as string, /^10\.0\.2\.2 \d+ 10\.0\.2\.15 22\n$/, 'the OpenSSH client logs in through host:1234');
	const why = await labcheck(['why', 'scenarios/port-forward.yaml', 'neighbour', 'host', '1234']);
	t.regex(why.stdout as string, /▸ host: port forward 1234 → vm 10\.0\.2\.15:22/, "the model's path");
	t.regex(why.stdout as string, /measured in lab \w{4}: reachable/);
	t.regex(
		why.stdout as string,
		/host: host\/nat\/vm\/forward-tcp-1234 \(nat\): port forward 1234 → vm 10\.0\.2\.15:22 \(\+1 packets\)/,
		'the DNAT rule counted the probe, and the evidence names the rule of the plan it came from',
	);
	// The lab's switches skip bridge netfilter (no rule lives there); the machine's own setting stays as it was.
	const lab = /lab (\w{4}) is up/.exec(up.stdout as string)![1];
	if (machineBrnf !== undefined) {
		const inSwitch = await execa('ip', ['netns', 'exec', `lcsw-${lab}-room`, 'cat', brnf]);
		t.is(inSwitch.stdout, '0');
		t.is(readFileSync(brnf, 'utf8'), machineBrnf);
	}
	const wrong = await labcheck(['exec', 'hots', '--', 'true']);
	t.is(wrong.exitCode, 2);
	t.regex(wrong.stderr, /has no node "hots"[\s\S]*did you mean "host"\?/);
	const down = await labcheck(['down']);
	t.regex(down.stdout, /removed lab/);
	await assertNothingLeft(t, before);
});

test.serial('doctor finds everything it needs on this machine', async (t) => {
	const doctor = await labcheck(['doctor']);
	t.is(doctor.exitCode, 0, doctor.stdout);
	t.regex(doctor.stdout, /✓ namespaces, veth, bridges and iptables NAT in a namespace/);
});

test.serial('a machine without iptables gets exit 3 and the command that fixes it', async (t) => {
	const bin = join(tmp, 'bin-without-iptables');
	mkdirSync(bin);
	for (const tool of ['ip', 'sh'])
		symlinkSync((await execa('sh', ['-c', `command -v ${tool}`])).stdout, join(bin, tool));
	const run = await execa(process.execPath, [BIN, 'run', 'scenarios/nat.yaml'], {
		cwd: ROOT,
		reject: false,
		env: { PATH: bin, FORCE_COLOR: '0' },
		extendEnv: false,
	});
	t.is(run.exitCode, 3);
	t.is(run.stderr, '✖ this machine lacks iptables\n  run `npx labcheck doctor --fix` (or apt-get install iptables)');
	t.deepEqual(await labNamespaces(), []);
});

test.serial('without root, labcheck says it needs CAP_NET_ADMIN and exits 3', async (t) => {
	const run = await execa(
		'setpriv',
		['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'run', 'scenarios/nat.yaml'],
		{ cwd: ROOT, reject: false, env: { FORCE_COLOR: '0' } },
	);
	t.is(run.exitCode, 3);
	t.regex(
		run.stderr,
		/^✖ labcheck builds labs in network namespaces and needs root \(CAP_NET_ADMIN\)\n {2}run it as root/,
	);
});
