// `labcheck doctor [--fix]`: what the machine needs to build labs, and Debian's packages that provide it.
import { execa } from 'execa';
import chalk from 'chalk';
import { EnvironmentError } from './errors.js';
import { installed } from './which.js';

interface Check {
	what: string;
	pkg?: string;
	required: boolean;
	test: () => Promise<boolean>;
	dev?: boolean;
}

const has = (command: string) => () => installed(command);
const works = (command: string, args: string[]) => async () =>
	(await execa(command, args, { reject: false })).exitCode === 0;

async function namespacesWork(): Promise<boolean> {
	const ns = `lcdoctor-${process.pid}`;
	const ok = await works('ip', ['netns', 'add', ns])();
	if (!ok) return false;
	try {
		const veth = await works('ip', ['-n', ns, 'link', 'add', 'lcv0', 'type', 'veth', 'peer', 'name', 'lcv1'])();
		const bridge = await works('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge'])();
		const nat = await works('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-L', '-n'])();
		return veth && bridge && nat;
	} finally {
		await execa('ip', ['netns', 'del', ns], { reject: false });
	}
}

const CHECKS: Check[] = [
	{ what: 'running as root (CAP_NET_ADMIN)', required: true, test: async () => process.getuid?.() === 0 },
	{ what: 'ip (iproute2)', pkg: 'iproute2', required: true, test: has('ip') },
	{ what: 'iptables', pkg: 'iptables', required: true, test: has('iptables-restore') },
	{ what: 'sshd (openssh-server)', pkg: 'openssh-server', required: true, test: has('/usr/sbin/sshd') },
	{ what: 'ssh-keygen and ssh (openssh-client)', pkg: 'openssh-client', required: true, test: has('ssh-keygen') },
	{ what: 'dockerd, for labs with containers (docker.io)', pkg: 'docker.io', required: false, test: has('dockerd') },
	{
		what: 'busybox, the root file system of labcheck/base',
		pkg: 'busybox-static',
		required: false,
		test: has('/bin/busybox'),
	},
	{
		what: "conntrack, to forget a floating IP's connections when it moves",
		pkg: 'conntrack',
		required: false,
		test: has('conntrack'),
	},
	{ what: 'ping, for `labcheck exec`', pkg: 'iputils-ping', required: false, test: has('ping') },
	{ what: 'curl, for `labcheck exec`', pkg: 'curl', required: false, test: has('curl') },
	{ what: 'namespaces, veth, bridges and iptables NAT in a namespace', required: true, test: namespacesWork },
	{ what: 'chromium, for the HTML report test', pkg: 'chromium', required: false, test: has('chromium'), dev: true },
];

export async function doctor(options: { fix?: boolean; quiet?: boolean; dev?: boolean }): Promise<boolean> {
	const say = (line: string) => {
		if (!options.quiet) console.log(line);
	};
	const checks = CHECKS.filter((c) => options.dev || !c.dev);
	let results = await Promise.all(checks.map(async (c) => ({ ...c, ok: await c.test() })));
	const missing = results.filter((r) => !r.ok && r.pkg).map((r) => r.pkg!);
	if (options.fix && missing.length > 0) {
		if (process.getuid?.() !== 0)
			throw new EnvironmentError('installing packages needs root', 'run `sudo npx labcheck doctor --fix`');
		say(chalk.dim(`installing ${missing.join(' ')} …`));
		const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
		await execa('apt-get', ['update', '-qq'], { env, stdio: options.quiet ? 'ignore' : 'inherit' });
		const install = await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
			env,
			reject: false,
			all: true,
		});
		if (install.exitCode !== 0)
			throw new EnvironmentError(
				`apt-get install ${missing.join(' ')} failed: ${install.all?.split('\n').slice(-3).join(' ')}`,
			);
		results = await Promise.all(checks.map(async (c) => ({ ...c, ok: await c.test() })));
	}
	for (const r of results) {
		const mark = r.ok ? chalk.green('✓') : r.required ? chalk.red('✖') : chalk.yellow('!');
		const fix = r.pkg
			? ` — apt-get install ${r.pkg} (or labcheck doctor --fix)`
			: r.what.startsWith('running')
				? ' — run as root'
				: ' — needs a Linux kernel with network namespaces';
		say(`${mark} ${r.what}${r.ok ? '' : chalk.dim(fix)}`);
	}
	const failed = results.filter((r) => !r.ok && r.required);
	if (failed.length > 0 && options.quiet)
		throw new EnvironmentError(
			`this machine cannot build labs: ${failed.map((r) => r.what).join(', ')}`,
			'run `labcheck doctor --fix` as root',
		);
	return failed.length === 0;
}
