// Real labs with containers: a container node of the inventory lives on a Docker engine reached over SSH (the engine's
// socket on that machine), and every probe from it runs inside the container's network with the container's own
// tools. The machines are a lab labcheck built itself (`labcheck up`: sshd on the host and the VM, the VM's own
// engine), reached from its host node's network — never anything outside it.
import test from 'ava';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { connectScript } from '../src/backends/ssh/container.js';
import { errnoOf } from '../src/backends/ssh/remote.js';
import { labcheck } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import { byId, inventory as inventoryIn, results, runOn, trustingRun, upLab } from './helpers/real.js';

const tmp = tempDir('real-docker');
const SCENARIO = 'fixtures/real/docker.yaml';
let lab = '';

const key = () => `/run/labcheck/${lab}/id_ed25519`;
const socket = () => `/run/labcheck/${lab}/d-vm.sock`;
const inventory = (name: string, nodes: Record<string, string>) => inventoryIn(tmp, name, nodes);
/** ct1 through the VM's own SSH session (`docker: vm`), ct2 through an SSH URL of its own. */
const good = (ct1 = `lc-${lab}-ct1`) =>
	inventory('good', {
		host: `{ ssh: root@10.1.5.22, key: ${key()} }`,
		vm: `{ ssh: root@10.1.5.22:1234, key: ${key()} }`,
		ct1: `{ docker: vm, container: ${ct1}, socket: ${socket()} }`,
		ct2: `{ docker: "ssh://root@10.1.5.22:1234", container: lc-${lab}-ct2, socket: ${socket()}, key: ${key()} }`,
	});

const onReal = (inv: string, ...more: string[]) => runOn(lab, SCENARIO, inv, more);

/** The processes inside a container, as its engine lists them (PID 1 and its sleep, nothing of a run). */
const inside = async (node: string) =>
	(await execa('docker', ['-H', `unix://${socket()}`, 'top', `lc-${lab}-${node}`, '-eo', 'pid,args'])).stdout;

test.before(async () => {
	lab = await upLab(SCENARIO);
});

test.after.always(async () => {
	await labcheck(['down', lab]);
});

test.serial(
	'containers on a real engine give the embedded run’s matrix, and nothing of the run stays in them',
	async (t) => {
		const embedded = join(tmp, 'embedded.json');
		t.is((await labcheck(['run', SCENARIO, '--json', embedded, '--no-report'])).exitCode, 0);
		const before = { ct1: await inside('ct1'), ct2: await inside('ct2') };
		const { run, json, report } = await trustingRun(tmp, (...more) => onReal(good(), ...more));
		t.is(run.exitCode, 0, run.all);
		const real = byId(results(json));
		for (const r of results(embedded)) t.is(real[r.id]?.actual, r.actual, `${r.id}: ${real[r.id]?.detail}`);
		t.regex(real['ping ct1 -> vm'].detail, /^3\/3 replies/, "the container's own ping");
		t.is(real['tcp ct1 -> neighbour:2222'].status, 'refused', 'a refusal inside the container is a refusal');
		t.regex(real['http ct1 -> neighbour'].detail, /200/);
		t.is(real['ssh ct1 -> ct2'].seenFrom, '172.17.0.2', 'ct2 saw the SSH login come from ct1 itself');
		const md = readFileSync(report, 'utf8');
		t.regex(md, new RegExp(`\\| ct1 \\| container lc-${lab}-ct1 on vm \\| 172\\.17\\.0\\.2/16 \\|`));
		t.regex(md, new RegExp(`- docker ssh://root@10\\.1\\.5\\.22:1234 \\(${socket().replace(/\./g, '\\.')}\\)\\n`));
		t.is((await labcheck(['diff', embedded, json])).stdout, 'no connectivity changed\n');
		// Every exec ended with its connection: the containers run what they ran before.
		t.is(await inside('ct1'), before.ct1);
		t.is(await inside('ct2'), before.ct2);
	},
);

test.serial('a container the engine does not have is named; the other nodes are still probed', async (t) => {
	const json = join(tmp, 'missing.json');
	const run = await onReal(good('nope'), '--known-hosts', join(tmp, 'known_hosts'), '--json', json, '--no-report');
	t.is(run.exitCode, 1, run.all);
	const real = byId(results(json));
	t.is(real['ping ct1 -> vm'].status, 'error');
	t.regex(real['ping ct1 -> vm'].detail, /^ct1: the engine vm has no container "nope"$/);
	t.is(real['tcp vm -> ct2:22'].status, 'ok', 'the VM and ct2 are probed all the same');
	t.is(real['ping host -> ct1'].actual, 'unreachable');
});

test.serial('an inventory that mixes up ssh and docker is refused with its position', async (t) => {
	const inv = inventory('bad', {
		vm: '{ ssh: root@10.1.5.22, docker: vm }',
		ct1: '{ docker: "ftp://10.1.5.22" }',
		ct2: '{ docker: nowhere }',
		host: '{ ssh: root@10.1.5.22, container: ct1 }',
	});
	const run = await labcheck(['run', SCENARIO, '--on', inv, '--no-report']);
	t.is(run.exitCode, 2);
	const err = String(run.stderr);
	t.regex(err, /bad\.inventory\.yaml:2:3: "vm" has both ssh and docker/);
	t.regex(err, /bad\.inventory\.yaml:3:\d+: "ftp:\/\/10\.1\.5\.22" is not an engine/);
	t.regex(err, /bad\.inventory\.yaml:4:\d+: "nowhere" is not a node of the inventory/);
	t.regex(err, /bad\.inventory\.yaml:5:\d+: "container" needs "docker"/);
});

/**
 * The script's other ways, run for real in the VM's network with a PATH that lacks one tool or another: bash's
 * /dev/tcp when there is no busybox nc, and a clear word when there is neither.
 */
test.serial('without busybox nc a container connects with bash; with neither it says so', async (t) => {
	const bin = join(tmp, 'bin');
	mkdirSync(bin, { recursive: true });
	for (const tool of ['bash', 'dd', 'sleep', 'grep'])
		symlinkSync((await execa('sh', ['-c', `command -v ${tool}`])).stdout, join(bin, tool));
	// Our side stays open half a second (as a probe's would while it reads), then closes: the script ends.
	const inVm = (script: string, path: string) =>
		execa('ip', ['netns', 'exec', `lc-${lab}-vm`, '/bin/sh', '-c', `/bin/sleep 0.5 | (PATH=${path}; ${script})`], {
			reject: false,
			timeout: 10_000,
		});
	const open = await inVm(connectScript('172.17.0.3', 22, 2000), bin);
	t.regex(open.stderr, /^LC:connected$/m);
	t.regex(open.stdout, /^SSH-2\.0-OpenSSH/, "ct2's sshd answered through bash's /dev/tcp");
	const refused = await inVm(connectScript('172.17.0.3', 2, 2000), bin);
	t.notRegex(refused.stderr, /LC:connected/);
	t.is(errnoOf(refused.stderr), 'ECONNREFUSED', refused.stderr);
	const none = await inVm(connectScript('172.17.0.3', 22, 2000), join(tmp, 'empty'));
	t.is(none.exitCode, 127);
	t.regex(none.stderr, /LC:no-tool/);
});
