// Real labs: the same scenario, run with `--on inventory` on machines that exist. The machines here are a lab
// labcheck built itself (`labcheck up`: sshd on every node), reached over SSH from its host node's network —
// never anything outside it. The matrix must equal the embedded run's; host keys are checked; a password never
// shows; a node that cannot be reached is an error naming it while the others are still probed; and nothing of
// the run stays on the machines.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN, labcheck, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import { byId, inventory as inventoryIn, results, runOn, trustingRun, upLab } from './helpers/real.js';

const tmp = tempDir('real');
const SCENARIO = 'fixtures/real/lab.yaml';
let lab = '';

/** sshd sessions alive in the lab: a run over SSH must leave none. */
const sessions = async () =>
	(await execa('ps', ['-eo', 'args'])).stdout.split('\n').filter((l) => /^sshd: \S+@|^sshd: root \[/.test(l)).length;
/**
 * The sessions once sshd has finished closing those of a client that left (it takes a moment): polled until they
 * number `target`, or stop changing.
 */
async function settledSessions(target?: number): Promise<number> {
	let last = await sessions();
	for (let i = 0; i < 100; i++) {
		await new Promise((r) => setTimeout(r, 50));
		const now = await sessions();
		if (target !== undefined ? now === target : now === last && i >= 4) return now;
		last = now;
	}
	return last;
}

const inventory = (name: string, nodes: Record<string, string>) => inventoryIn(tmp, name, nodes);
const key = () => `/run/labcheck/${lab}/id_ed25519`;
const good = () =>
	inventory('good', {
		host: `{ ssh: root@10.1.5.22, key: ${key()} }`,
		neighbour: `{ ssh: root@10.1.5.39, key: ${key()} }`,
		vm: `{ ssh: root@10.1.5.22:1234, key: ${key()} }`,
	});

/** `labcheck run --on` from the lab's host node: its network, the machine's files. */
const onReal = (inv: string, ...more: string[]) =>
	runOn(lab, SCENARIO, inv, more, { LC_TEST_PASSWORD: 'hunter2-real' });

test.before(async () => {
	lab = await upLab(SCENARIO);
});

test.after.always(async () => {
	await labcheck(['down', lab]);
});

test.serial(
	'the scenario on the real machines gives the embedded run’s matrix, and leaves no session behind',
	async (t) => {
		const embedded = join(tmp, 'embedded.json');
		t.is((await labcheck(['run', SCENARIO, '--json', embedded, '--no-report'])).exitCode, 0);
		const before = await settledSessions();
		const { run, json, report, knownHosts } = await trustingRun(tmp, (...more) => onReal(good(), ...more));
		t.is(run.exitCode, 0, run.all);
		const md = readFileSync(report, 'utf8');
		t.true(md.includes('## Measured on real machines'), 'the report says where it was measured');
		t.regex(md, /\| vm \| root@10\.1\.5\.22:1234 \| 10\.0\.2\.15\/24 \| default via 10\.0\.2\.2 /, "the VM's own view");
		t.regex(md, /- ssh root@10\.1\.5\.39:22\n/);
		t.regex(md, /<summary>host's firewall \(iptables-save\)<\/summary>[\s\S]*labcheck:host\/nat\/vm\/forward-tcp-1234/);
		t.regex(md, /- neighbour's firewall: no rule\n/, "the machine's own rules, beside the scenario's");
		t.regex(md, /- http 10\.1\.5\.39:50000 from vm\n/, 'every address contacted is listed');
		t.regex(run.all!, /on the real machines of .*good\.inventory\.yaml/);
		const real = byId(results(json));
		for (const r of results(embedded)) t.is(real[r.id]?.actual, r.actual, `${r.id}: ${real[r.id]?.detail}`);
		t.is(real['ssh neighbour -> host:1234'].seenFrom, '10.0.2.2', 'the forward on the real host, seen by the real VM');
		const diff = await labcheck(['diff', embedded, json]);
		t.is(diff.stdout, 'no connectivity changed\n', 'labcheck diff: the real lab does what the model and the lab do');
		t.regex(real['ping vm -> neighbour'].detail, /^3\/3 replies/);
		t.is(real['tcp vm -> neighbour:2222'].status, 'refused');
		t.is(readFileSync(knownHosts, 'utf8').trim().split('\n').length, 3, 'three machines recorded: host, neighbour, vm');
		t.regex(run.all!, /recorded the host key of \[10\.1\.5\.22\]:1234 SHA256:/);
		// Jump hosts: neighbour through host, the VM through neighbour.
		const via = inventory('via', {
			host: `{ ssh: root@10.1.5.22, key: ${key()} }`,
			neighbour: `{ ssh: root@10.1.5.39, key: ${key()}, via: host }`,
			vm: `{ ssh: root@10.1.5.22:1234, key: ${key()}, via: neighbour }`,
		});
		const chained = await onReal(via, '--known-hosts', knownHosts, '--report', join(tmp, 'via.md'));
		t.is(chained.exitCode, 0, chained.all);
		t.regex(readFileSync(join(tmp, 'via.md'), 'utf8'), /- ssh root@10\.1\.5\.22:1234 \(via neighbour\)\n/);
		// Known now: a second run needs no --trust-new-hosts.
		t.is((await onReal(good(), '--known-hosts', knownHosts, '--no-report')).exitCode, 0);
		t.is(await settledSessions(before), before, 'every SSH session of the runs is closed');
	},
);

test.serial(
	'an unknown host is refused with its fingerprint; a changed key is refused; the others are probed',
	async (t) => {
		const empty = join(tmp, 'empty_known_hosts');
		const unknown = await onReal(good(), '--known-hosts', empty, '--json', join(tmp, 'unknown.json'), '--no-report');
		t.is(unknown.exitCode, 1);
		const u = byId(results(join(tmp, 'unknown.json')));
		t.is(u['tcp host -> neighbour:22'].status, 'error');
		t.regex(
			u['tcp host -> neighbour:22'].detail,
			/10\.1\.5\.22 is not in .*; its host key is SHA256:\S+ — .*--trust-new-hosts/,
		);
		// Neighbour's line now carries host's key: neighbour "changed", the others are as recorded.
		const knownHosts = join(tmp, 'swapped_known_hosts');
		await onReal(good(), '--known-hosts', knownHosts, '--trust-new-hosts', '--no-report');
		const lines = readFileSync(knownHosts, 'utf8').trim().split('\n');
		const hostKey = lines
			.find((l) => l.startsWith('10.1.5.22 '))!
			.split(' ')
			.slice(1)
			.join(' ');
		writeFileSync(
			knownHosts,
			`${lines.map((l) => (l.startsWith('10.1.5.39 ') ? `10.1.5.39 ${hostKey}` : l)).join('\n')}\n`,
		);
		const json = join(tmp, 'changed.json');
		const changed = await onReal(
			good(),
			'--known-hosts',
			knownHosts,
			'--trust-new-hosts',
			'--json',
			json,
			'--no-report',
		);
		t.is(changed.exitCode, 1);
		const c = byId(results(json));
		t.regex(c['ssh neighbour -> host:1234'].detail, /host key of 10\.1\.5\.39 changed/);
		t.is(c['ssh neighbour -> host:1234'].status, 'error');
		t.is(c['tcp host -> neighbour:22'].actual, 'reachable', 'host is still probed');
		t.is(c['http vm -> neighbour'].actual, 'reachable', 'vm is still probed');
		t.true(readFileSync(knownHosts, 'utf8').includes(`10.1.5.39 ${hostKey}`), '--trust-new-hosts never replaces a key');
	},
);

test.serial('a refused password is named and never shown; a node that does not answer SSH is named', async (t) => {
	const knownHosts = join(tmp, 'kh3');
	const inv = inventory('broken', {
		host: `{ ssh: root@10.1.5.22, key: ${key()} }`,
		neighbour: '{ ssh: root@10.1.5.39, password_env: LC_TEST_PASSWORD }',
		vm: `{ ssh: root@10.1.5.22:2, key: ${key()} }`,
	});
	const json = join(tmp, 'broken.json');
	const report = join(tmp, 'broken.md');
	const done = await onReal(inv, '--known-hosts', knownHosts, '--trust-new-hosts', '--json', json, '--report', report);
	t.is(done.exitCode, 1, done.all);
	const r = byId(results(json));
	t.regex(r['ssh neighbour -> host:1234'].detail, /neighbour: root@10\.1\.5\.39:22 refused the login \(password/);
	t.regex(r['exec vm -- test -e /etc/hostname'].detail, /vm: cannot reach root@10\.1\.5\.22:2/);
	t.is(r['tcp host -> neighbour:22'].actual, 'reachable', 'host is still probed');
	t.false(r['ping neighbour -> vm'].passed, 'a node that was never reached proves nothing, not even "unreachable"');
	const everything = done.all! + readFileSync(json, 'utf8') + readFileSync(report, 'utf8');
	t.false(everything.includes('hunter2-real'), 'the password never reaches an output');
});

test.serial('a class at once: one inventory per student, one report each, and a grading sheet', async (t) => {
	const alice = good();
	const bob = inventory('bob', {
		host: `{ ssh: root@10.1.5.22, key: ${key()} }`,
		neighbour: `{ ssh: root@10.1.5.39, key: ${key()} }`,
		vm: `{ ssh: root@10.1.5.22:2, key: ${key()} }`, // Bob's forward is missing
	});
	const dir = join(tmp, 'class');
	const run = await onReal(
		alice,
		bob,
		'--known-hosts',
		join(tmp, 'kh-class'),
		'--trust-new-hosts',
		'--reports-dir',
		dir,
	);
	t.is(run.exitCode, 1, run.all);
	t.regex(run.all!, /✔ good\s+9\/9 held/);
	t.regex(run.all!, /✖ bob\s+4\/9 held/);
	const csv = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n');
	t.true(csv[0].startsWith('inventory,held,ping host -> neighbour,'));
	t.is(csv[1], `good,9/9,${Array(9).fill('pass').join(',')}`);
	t.regex(csv[2], /^bob,4\/9,pass,error,/, "bob's VM is an error, not a pass, wherever it is the source");
	t.regex(readFileSync(join(dir, 'summary.md'), 'utf8'), /\| \[bob\]\(bob\.md\) \| 4\/9 \| ✅ \| ⚠ error \|/);
	t.regex(readFileSync(join(dir, 'bob.md'), 'utf8'), /vm: cannot reach root@10\.1\.5\.22:2/);
});

test.serial('URL targets: HTTPS from the real node, the certificate checked unless the check opts out', async (t) => {
	// A self-signed HTTPS service on neighbour, started in its own view of the machine for the length of the test.
	const cert = join(tmp, 'tls');
	await execa('openssl', [
		'req',
		'-x509',
		'-newkey',
		'ec',
		'-pkeyopt',
		'ec_paramgen_curve:prime256v1',
		'-nodes',
		'-days',
		'1',
		'-subj',
		'/CN=neighbour.lab',
		'-keyout',
		`${cert}.key`,
		'-out',
		`${cert}.pem`,
	]);
	const pem = (file: string) => JSON.stringify(readFileSync(file, 'utf8'));
	const server =
		`require('https').createServer({ key: ${pem(`${cert}.key`)}, cert: ${pem(`${cert}.pem`)} }, ` +
		"(q, s) => s.end('tls ok')).listen(8443, () => console.log('ready'))";
	const https = labcheck(['exec', '--lab', lab, 'neighbour', '--', process.execPath, '-e', server]);
	await new Promise<void>((resolve) =>
		https.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
	);
	try {
		const scenario = join(tmp, 'urls.yaml');
		writeFileSync(
			scenario,
			readFileSync(join(ROOT, SCENARIO), 'utf8').replace(
				/^expect:[\s\S]*$/m,
				[
					'expect:',
					'  - http vm -> https://10.1.5.39:8443/: reachable',
					'  - http host -> https://neighbour.lab:8443/status: { expect: reachable, insecure: true, match: "tls ok" }',
					'  - http vm -> http://10.1.5.39:50000/: { expect: reachable, body: "(5+6)*2", match: "result = 22" }',
					'',
				].join('\n'),
			),
		);
		const json = join(tmp, 'urls.json');
		const run = await execa(
			'ip',
			[
				'netns',
				'exec',
				`lc-${lab}-host`,
				process.execPath,
				BIN,
				'run',
				scenario,
				'--on',
				good(),
				'--known-hosts',
				join(tmp, 'kh-urls'),
				'--trust-new-hosts',
				'--json',
				json,
				'--no-report',
			],
			{ cwd: ROOT, reject: false, all: true, env: { FORCE_COLOR: '0' } },
		);
		t.is(run.exitCode, 1, run.all);
		const r = byId(results(json));
		t.is(r['http vm -> https://10.1.5.39:8443/'].status, 'error');
		t.regex(r['http vm -> https://10.1.5.39:8443/'].detail, /^TLS: self[- ]signed certificate/);
		t.is(r['http host -> https://neighbour.lab:8443/status'].actual, 'reachable', 'insecure: true accepts it');
		t.regex(r['http host -> https://neighbour.lab:8443/status'].detail, /^GET \/status → 200 "tls ok"/);
		t.is(r['http vm -> http://10.1.5.39:50000/'].actual, 'reachable');
	} finally {
		// `labcheck exec` waits for its command: killed outright. The server goes with the lab (`down`), and with it the
		// pipe it holds: not awaited here.
		https.kill('SIGKILL');
		https.catch(() => {});
	}
});

test.serial(
	'Ctrl-C in the middle of a real run: exit 130, unfinished checks not judged, every session closed',
	async (t) => {
		const knownHosts = join(tmp, 'kh-int');
		await onReal(good(), '--known-hosts', knownHosts, '--trust-new-hosts', '--no-report');
		const before = await settledSessions();
		const run = onReal(good(), '--known-hosts', knownHosts, '--no-report');
		let exited = false;
		void run.finally(() => {
			exited = true;
		});
		// Under CI load connecting may take seconds: wait (bounded) until the run holds sessions, or has ended.
		let open = await sessions();
		for (let i = 0; i < 1200 && open <= before && !exited; i++) {
			await new Promise((r) => setTimeout(r, 25));
			open = await sessions();
		}
		t.true(open > before, `the run had sessions open on the machines (${open} now, ${before} before)`);
		run.kill('SIGINT');
		const done = await run;
		t.is(done.exitCode, 130, done.all);
		t.regex(done.all!, /interrupted by SIGINT: \d+ of 9 checks finished/);
		t.is(await settledSessions(before), before, 'every session the run opened is closed');
	},
);

test.serial('a bad inventory is refused with its position, and nothing is contacted', async (t) => {
	const inv = inventory('typo', { hots: '{ ssh: root@10.1.5.22 }', vm: '{ ssh: "root@10.1.5.22:99999" }' });
	const run = await labcheck(['run', SCENARIO, '--on', inv, '--no-report']);
	t.is(run.exitCode, 2);
	t.regex(String(run.stderr), /typo\.inventory\.yaml:2:3: the scenario has no node "hots" — did you mean "host"\?/);
	t.regex(String(run.stderr), /typo\.inventory\.yaml:3:\d+: port 99999 is out of range/);
});
