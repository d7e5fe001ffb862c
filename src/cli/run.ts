// `labcheck run` and `labcheck up`: load, plan, build, probe, report.
import chalk from 'chalk';
import {
	htmlReporter,
	jsonReporter,
	junitReporter,
	markdownReporter,
	terminalReporter,
} from '../../reporters/index.js';
import { loadBackend } from '../backends/index.js';
import type { Backend } from '../backends/types.js';
import { buildPlan } from '../plan/build.js';
import type { Inventory } from '../backends/ssh/inventory.js';
import type { Plan } from '../plan/types.js';
import { runPlan } from '../run/engine.js';
import type { Reporter } from '../run/types.js';
import { loadScenario } from '../scenario/load.js';
import { guard, interruption, release, track } from './signals.js';

export interface RunFlags {
	report?: string | false;
	json?: string;
	html?: string;
	junit?: string;
	quiet?: boolean;
	verbose?: boolean;
	allowExternal?: boolean;
	concurrency?: number;
	backend: string;
	/** Inventories of real machines to run the scenario on, instead of building it (several: a class at once). */
	on?: string[];
	/** Where a class run writes its reports and grading sheet. */
	reportsDir?: string;
	knownHosts?: string;
	trustNewHosts?: boolean;
}

/** Loads and validates every file before anything is built: one bad file builds nothing. */
export async function planAll(files: string[], flags: { allowExternal?: boolean; on?: string[] }): Promise<Plan[]> {
	const plans: Plan[] = [];
	const options = { allowExternal: flags.allowExternal, real: Boolean(flags.on?.length) };
	for (const file of files) plans.push(buildPlan(await loadScenario(file), options));
	return plans;
}

export async function run(files: string[], flags: RunFlags, argv: string[]): Promise<number> {
	let plans = await planAll(files, flags);
	let backend = await loadBackend(flags.backend);
	if (flags.on && flags.on.length > 1) return (await import('./class.js')).runClass(plans, flags, argv);
	if (flags.on) {
		// A real lab: the scenario's checks run from its machines, to the addresses the inventory gives its nodes.
		const { loadInventory } = await import('../backends/ssh/inventory.js');
		const { realBackend } = await import('../backends/ssh/index.js');
		const inventories = await Promise.all(plans.map((plan) => loadInventory(flags.on![0], plan)));
		plans = plans.map((plan, i) => onRealMachines(plan, inventories[i]));
		backend = realBackend({
			inventory: inventories[0],
			knownHosts: flags.knownHosts,
			trustNewHosts: flags.trustNewHosts,
			onNewHost: (line) => console.log(chalk.dim(`recorded the host key of ${line}`)),
		});
	}
	await backend.clean('dead');
	const reporters: Reporter[] = [terminalReporter({ quiet: flags.quiet, verbose: flags.verbose })];
	if (flags.report !== false) reporters.push(markdownReporter(flags.report ?? 'report.md'));
	if (flags.json) reporters.push(jsonReporter(flags.json));
	if (flags.html) reporters.push(htmlReporter(flags.html));
	const junit = flags.junit ? junitReporter(flags.junit) : undefined;
	if (junit) reporters.push(junit);
	let failed = 0;
	for (const plan of plans) {
		try {
			const { summary, lab } = await runTracked(plan, backend, reporters, flags, argv);
			if (summary.interrupted) return 1; // the signal handler exits with the signal's code
			release(lab);
			failed += summary.failed;
		} catch (error) {
			await junit?.onInfrastructureError(plan.file, error as Error);
			throw error;
		}
	}
	if (!flags.quiet && flags.report !== false) console.log(chalk.dim(`report: ${flags.report ?? 'report.md'}`));
	return failed === 0 ? 0 : 1;
}

export async function up(file: string, flags: RunFlags, argv: string[]): Promise<number> {
	const [plan] = await planAll([file], flags);
	const backend = await loadBackend(flags.backend);
	await backend.clean('dead');
	const { summary, lab } = await track(
		runPlan(plan, {
			backend,
			reporters: [terminalReporter({ quiet: flags.quiet, verbose: flags.verbose })],
			keep: true,
			command: `npx labcheck ${argv.join(' ')}`,
			onLab: guard,
			signal: interruption,
		}),
	);
	if (summary.interrupted) return 1;
	release(lab);
	console.log(`\n${chalk.bold(`lab ${lab.id} is up`)} — nodes:`);
	for (const node of plan.nodes) {
		const addresses = node.interfaces.map((i) => `${i.address}/${i.prefix} (${i.network})`).join(', ');
		const services = node.services.map((s) => `${s.name}:${s.port}`).join(' ');
		console.log(`  ${node.name.padEnd(12)} ${addresses}${services ? chalk.dim(`  ${services}`) : ''}`);
	}
	console.log(
		`\nexplore: ${chalk.cyan('npx labcheck exec <node> -- <command>')}   ` +
			`e.g. npx labcheck exec ${plan.nodes[0].name} -- ip addr`,
	);
	for (const line of sshHints(plan, lab.sshKeyFile)) console.log(`ssh:     ${chalk.cyan(line)}`);
	console.log(`stop:    ${chalk.cyan('npx labcheck down')}`);
	return summary.failed === 0 ? 0 : 1;
}

// A paste-ready OpenSSH login for each sshd of the lab: through its port forward when it has one.
function sshHints(plan: Plan, key: string | undefined): string[] {
	if (!key) return [];
	const options = `-i ${key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null`;
	const login = (via: string, port: number, address: string) =>
		`npx labcheck exec ${via} -- ssh ${options} -p ${port} root@${address}`;
	return plan.nodes.flatMap((node) =>
		node.services
			.filter((s) => s.name === 'sshd')
			.map((sshd) => {
				const forward = plan.nodes
					.flatMap((host) => host.nat.flatMap((nat) => nat.forwards.map((f) => ({ host, f }))))
					.find(({ f }) => f.guest === node.name && f.guestPort === sshd.port);
				if (forward) return login(forward.host.name, forward.f.hostPort, forward.host.interfaces[0].address);
				const published = node.container?.publish.find((p) => p.containerPort === sshd.port);
				if (published) {
					const engine = plan.nodes.find((n) => n.name === node.container!.engine)!;
					return login(engine.name, published.hostPort, engine.interfaces[0].address);
				}
				if (node.container) return login(node.container.engine, sshd.port, node.interfaces[0].address);
				const from = plan.nodes.find((n) => n !== node && !n.auto)?.name ?? node.name;
				return login(from, sshd.port, node.interfaces[0].address);
			}),
	);
}

/** One plan run under the command's signal handling: Ctrl-C tears its lab down, and stops the run. */
export const runTracked = (plan: Plan, backend: Backend, reporters: Reporter[], flags: RunFlags, argv: string[]) =>
	track(
		runPlan(plan, {
			backend,
			reporters,
			concurrency: flags.concurrency,
			command: `npx labcheck ${argv.join(' ')}`,
			onLab: guard,
			signal: interruption,
		}),
	);

/** The plan with each node's address where the inventory says other nodes reach it (`address:`), for every check. */
export function onRealMachines(plan: Plan, inventory: Inventory): Plan {
	const moved = new Map(
		[...inventory.nodes.values()].flatMap((n) => (n.address ? [[n.name, n.address] as const] : [])),
	);
	if (moved.size === 0) return plan;
	return {
		...plan,
		checks: plan.checks.map((c) =>
			c.to.node && moved.has(c.to.node) && !c.to.label.includes('@')
				? { ...c, to: { ...c.to, address: moved.get(c.to.node)! } }
				: c,
		),
	};
}
