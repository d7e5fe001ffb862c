// Issue 11's reproductions, each as a test: hostile files answer with a positioned exit 2 (never a
// hang, never exit 3), and every regression fixture runs for real and holds, leaving nothing behind.
import test from 'ava';
import { execSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
	assertNothingLeft,
	BIN,
	labcheck,
	labNamespaces,
	labProcesses,
	ROOT,
	snapshot,
	startSlowRun,
} from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('reliability');

test.before(async () => {
	await labcheck(['clean']);
});

test('a FIFO, a device and an oversized file are refused at once, with the reason', async (t) => {
	const fifo = join(tmp, 'f.yaml');
	execSync(`mkfifo ${fifo}`);
	const big = join(tmp, 'big.yaml');
	writeFileSync(big, `name: big\nnodes: {}\n# ${'x'.repeat(2 * 1024 * 1024)}\n`);
	for (const [file, reason] of [
		[fifo, /not a regular file/],
		['/dev/zero', /not a regular file/],
		[big, /a scenario may have at most 1048576/],
		[tmp, /it is a directory/],
	] as const) {
		const run = await labcheck(['validate', file]);
		t.is(run.exitCode, 2, `${file}: ${run.stderr}`);
		t.regex(run.stderr as string, reason);
		t.notRegex(run.stderr as string, /\n\s+at /, 'no stack trace');
	}
});

test('huge generated scenarios get a verdict, not a hang: 50,000 unknown keys, 1,000 nodes all pairs', async (t) => {
	const keys = join(tmp, 'keys.yaml');
	writeFileSync(keys, `name: k\nnodes: {}\n${Array.from({ length: 50_000 }, (_, i) => `k${i}: 1`).join('\n')}\n`);
	const unknown = await labcheck(['validate', keys]);
	t.is(unknown.exitCode, 2);
	t.regex(unknown.stderr as string, /keys\.yaml:3:1: unknown key "k0"/);
	const nodes = join(tmp, 'nodes.yaml');
	const hosts = Array.from({ length: 1000 }, (_, i) => `  h${i}: { kind: host, on: lan }`).join('\n');
	writeFileSync(
		nodes,
		`name: big\nnetworks: { lan: { subnet: 10.0.0.0/16 } }\nnodes:\n${hosts}\nexpect: ["ping * -> *": auto]\n`,
	);
	const pairs = await labcheck(['validate', nodes]);
	t.is(pairs.exitCode, 2);
	t.regex(pairs.stderr as string, /999,000 checks; one scenario may have at most 250,000/);
});

test('validate lists the commands a scenario runs inside its nodes', async (t) => {
	const run = await labcheck(['validate', 'fixtures/regressions/own-file-system.yaml']);
	t.is(run.exitCode, 0, run.stderr as string);
	t.regex(run.stdout as string, /commands it runs as root inside its nodes/);
	t.regex(run.stdout as string, /vm: touch \/tmp\/labcheck-harm/);
});

for (const file of readdirSync(new URL('../../fixtures/regressions/', import.meta.url)).filter((f) =>
	f.endsWith('.yaml'),
)) {
	test.serial(`regression ${file} holds for real and leaves nothing`, async (t) => {
		const before = await snapshot();
		const run = await labcheck(['run', `fixtures/regressions/${file}`, '--no-report']);
		t.is(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
		await assertNothingLeft(t, before);
		for (const path of ['/tmp/labcheck-harm', '/etc/labcheck-harm', '/usr/bin/labcheck-harm', '/root/labcheck-harm'])
			t.false(existsSync(path), `${path} is not on the machine`);
		t.true(existsSync('/bin/true'));
	});
}

test.serial('down refuses the id of a run still going, and an unknown id', async (t) => {
	const { child } = await startSlowRun('fixtures/slow.yaml');
	const id = /^lc(?:sw)?-(\w{4})-/.exec((await labNamespaces())[0])![1];
	const running = await labcheck(['down', id]);
	t.is(running.exitCode, 2);
	t.regex(running.stderr as string, new RegExp(`lab ${id} belongs to a run still going \\(pid \\d+\\)`));
	t.true((await labNamespaces()).length > 0, 'the running lab was left alone');
	const unknown = await labcheck(['down', 'zzzz']);
	t.is(unknown.exitCode, 2);
	t.regex(unknown.stderr as string, /no lab "zzzz" exists/);
	child.kill('SIGINT');
	await child;
});

test.serial('clean removes the lab of a killed run that is a zombie (its parent has not reaped it yet)', async (t) => {
	const before = await snapshot();
	// sh starts labcheck in the background, then becomes `sleep`, which never waits for its child.
	const holder = spawn(
		'sh',
		['-c', `${process.execPath} ${BIN} run fixtures/slow.yaml --no-report >/dev/null 2>&1 & echo $!; exec sleep 120`],
		{ cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
	);
	const pid = Number(
		await new Promise<string>((resolve) => holder.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))),
	);
	for (let i = 0; i < 400 && !(await labProcesses()).some((p) => /sshd -D -e -f \/run\/labcheck/.test(p)); i++)
		await new Promise((r) => setTimeout(r, 50));
	process.kill(pid, 'SIGKILL');
	for (let i = 0; i < 100 && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); i++)
		await new Promise((r) => setTimeout(r, 20));
	t.regex(readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) Z /, 'the killed run is a zombie');
	t.true((await labNamespaces()).length > 0);
	const clean = await labcheck(['clean']);
	t.regex(clean.stdout as string, /removed 1 lab/);
	holder.kill('SIGKILL');
	await assertNothingLeft(t, before);
});

test('escape sequences in a scenario never reach the terminal', async (t) => {
	const file = join(tmp, 'escape.yaml');
	writeFileSync(
		file,
		'name: "\\e[2J\\e[31mowned"\nnodes:\n  host: { kind: host, on: "\\e[2Jroom" }\n"\\e]0;title\\a": 1\n',
	);
	const run = await labcheck(['validate', file]);
	t.is(run.exitCode, 2);
	// biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
	t.false(/[\x07\x1b]/.test(`${run.stdout}${run.stderr}`), 'no control character printed');
	t.regex(run.stderr as string, /control characters \(escape sequences\) are not allowed/);
	t.regex(run.stderr as string, /unknown key "\\x1b\]0;title\\x07"/);
});

test('predict, 400 hosts all pairs (159,600 checks), to a pipe: no stack overflow, nothing cut at exit', async (t) => {
	const file = join(tmp, 'hosts400.yaml');
	const hosts = Array.from({ length: 400 }, (_, i) => `  h${i}: { kind: host, on: lan }`).join('\n');
	writeFileSync(
		file,
		`name: big\nnetworks: { lan: { subnet: 10.0.0.0/16 } }\nnodes:\n${hosts}\nexpect: ["ping * -> *": auto]\n`,
	);
	const run = await labcheck(['predict', file]);
	t.is(run.exitCode, 0, (run.stderr as string).slice(0, 500));
	t.regex((run.stdout as string).slice(-300), /predicted 159600 checks/, (run.stdout as string).slice(-300));
});
