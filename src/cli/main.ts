// The labcheck command line. Only this file prints fatal errors: a red ✖ and one sentence, then the exit code
// (0 all expectations held, 1 some did not, 2 bad scenario or usage, 3 environment or infrastructure).
import chalk from 'chalk';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { probes } from '../../probes/index.js';
import { LabcheckError, ScenarioError, visible } from '../errors.js';
import { VERSION } from '../paths.js';
import { redactText } from '../run/redact.js';
import type { RunFlags } from './run.js';
import { exit, installSignalHandlers, interrupted, teardownAll } from './signals.js';

const argv = process.argv.slice(2);
const program = new Command('labcheck')
	.description('Turn a network lab into a test: build it, probe it, report the connectivity matrix.')
	.version(VERSION)
	.showSuggestionAfterError(true)
	.exitOverride()
	.addHelpText(
		'after',
		`\nProbes (in a scenario: "PROBE FROM -> TO[:PORT]: reachable"):\n${probes
			.map((p) => {
				const options = Object.keys(p.options);
				return `  ${p.name.padEnd(6)} ${p.summary}${options.length ? ` [${options.join(', ')}]` : ''}`;
			})
			.join('\n')}`,
	);

const runOptions = (command: Command) =>
	command
		.option('--report <file>', 'Markdown report to write', 'report.md')
		.option('--no-report', 'write no Markdown report')
		.option('--json <file>', 'also write the results as JSON (for `labcheck report` and `labcheck diff`)')
		.option('--html <file>', 'also write a self-contained HTML report')
		.option('--junit <file>', 'also write JUnit XML for CI')
		.option('-q, --quiet', 'print only failures and the verdict')
		.option('-v, --verbose', 'print build steps and every probe detail')
		.option(
			'--concurrency <n>',
			'probes in flight at once, at most ' +
				`(default: by probe — ${probes.map((p) => `${p.name} ${p.inFlight}`).join(', ')})`,
			positiveInteger,
		)
		.option('--backend <name>', 'backend that builds the lab', 'netns')
		.option(
			'--on <inventory...>',
			'run on real machines: an inventory says how to reach each node over SSH ' +
				'(several: one report each and a grading sheet)',
		)
		.option('--reports-dir <dir>', 'with several inventories: where their reports and summary go', 'labcheck-reports')
		.option('--known-hosts <file>', 'host keys to check real machines against (default ~/.ssh/known_hosts)')
		.option('--trust-new-hosts', "record the host key of a machine seen for the first time (ssh's accept-new)")
		.option('--allow-external', 'allow probes to addresses no lab node owns (never needed for built-in scenarios)');

function positiveInteger(value: string): number {
	const n = Number(value);
	if (!Number.isInteger(n) || n < 1)
		throw new InvalidArgumentError('a whole number of probes, at least 1, e.g. --concurrency 32');
	return n;
}

let exitCode = 0;
runOptions(
	program
		.command('run')
		.argument('<scenario...>', 'scenario files')
		.description('build each lab, run its probes, report, tear it down'),
).action(async (files: string[], flags: RunFlags) => {
	exitCode = await (await import('./run.js')).run(files, flags, argv);
});
runOptions(
	program.command('up').argument('<scenario>').description('build a lab and keep it running (see exec, down)'),
).action(async (file: string, flags: RunFlags) => {
	exitCode = await (await import('./run.js')).up(file, flags, argv);
});
program
	.command('validate')
	.argument('<scenario...>')
	.option('--allow-external')
	.description('check scenario files without building anything')
	.action(async (files: string[], flags: { allowExternal?: boolean }) => {
		const plans = await (await import('./run.js')).planAll(files, flags);
		for (const plan of plans) {
			console.log(
				`${chalk.green('✓')} ${plan.file}: ${plan.nodes.length} nodes, ${plan.networks.length} networks, ` +
					`${plan.checks.length} checks`,
			);
			// A scenario may come from anywhere: say what it will run, before anyone runs it.
			const commands = [
				...plan.steps
					.flatMap((s) => s.actions)
					.filter((a) => a.verb === 'exec')
					.map((a) => ({ node: a.target, command: a.arg! })),
				...plan.checks.filter((c) => c.probe === 'exec').map((c) => ({ node: c.from, command: c.options.command! })),
			];
			if (commands.length > 0) {
				console.log(
					chalk.dim(
						'  commands it runs as root inside its nodes (each node has its own copy-on-write view ' +
							"of the file system; the machine's files stay untouched):",
					),
				);
				for (const { node, command } of commands) console.log(`    ${node}: ${command}`);
			}
		}
	});
program
	.command('exec')
	.argument('<node>')
	.argument('[command...]')
	.option('--lab <id>', 'which lab, when several are up')
	.description('run a command inside a node of the running lab, e.g. exec host -- ping -c1 10.0.2.15')
	.action(async (node: string, command: string[], flags: { lab?: string }) => {
		exitCode = await (await import('./labs.js')).exec(node, command, flags);
	});
program
	.command('down')
	.argument('[lab]')
	.description('tear down labs kept by `up`')
	.action(async (id?: string) => {
		exitCode = await (await import('./labs.js')).down(id);
	});
program
	.command('clean')
	.description('remove everything killed runs left behind (namespaces, processes, state)')
	.action(async () => {
		exitCode = await (await import('./labs.js')).clean();
	});
program
	.command('doctor')
	.option('--fix', 'install missing Debian packages')
	.option('--dev', 'also what the test suite needs (chromium)')
	.option('-q, --quiet')
	.description('check that this machine can build labs')
	.action(async (flags: { fix?: boolean; quiet?: boolean; dev?: boolean }) => {
		const { doctor } = await import('../doctor.js');
		exitCode = (await doctor(flags)) ? 0 : 3;
	});
program
	.command('report')
	.argument('<results.json>', 'saved with `labcheck run --json`')
	.option('--report <file>', 'Markdown report to write', 'report.md')
	.option('--html <file>')
	.option('--junit <file>')
	.description('render the reports of a saved run again')
	.action(async (file: string, flags: { report: string; html?: string; junit?: string }) => {
		const { rerender } = await import('./report.js');
		exitCode = await rerender(file, flags);
	});
program
	.command('diff')
	.argument('<before.json>')
	.argument('<after.json>')
	.description('show what connectivity changed between two saved runs')
	.action(async (a: string, b: string) => {
		const { diff } = await import('./diff.js');
		exitCode = await diff(a, b);
	});
program
	.command('ci')
	.argument('<github|gitlab>')
	.argument('[scenario...]', 'default: every file in scenarios/')
	.option('-o, --output <file>', 'where to write the CI file')
	.option('--stdout', 'print it instead')
	.description('write a CI configuration with one job per scenario')
	.action(async (kind: string, scenarios: string[], flags: { output?: string; stdout?: boolean }) => {
		const { ci } = await import('./ci.js');
		exitCode = await ci(kind, scenarios, flags);
	});
program
	.command('predict')
	.argument('<scenario>')
	.option('--allow-external')
	.description('the matrix the model expects for every step, from the scenario alone (nothing is built)')
	.action(async (file: string, flags: { allowExternal?: boolean }) => {
		const { predictScenario } = await import('./predict.js');
		exitCode = await predictScenario(file, flags);
	});
program
	.command('why')
	.argument('<scenario>')
	.argument('<from>')
	.argument('<to>', 'node, node@network, node@floating or an address')
	.argument('[port]', "a port; without it, ping (or the probe's default port)")
	.option(
		'--probe <name>',
		`the probe whose packet to follow: ${probes
			.filter((p) => p.packet)
			.map((p) => p.name)
			.join(', ')} (default: tcp with a port, else ping)`,
	)
	.option('--step <n>', 'after this many steps', '0')
	.option('--allow-external')
	.description('the hop-by-hop path of one pair in the model, and where it dies')
	.action(
		async (
			file: string,
			from: string,
			to: string,
			port: string | undefined,
			flags: { step?: string; allowExternal?: boolean; probe?: string },
		) => {
			const { why } = await import('./predict.js');
			exitCode = await why(file, from, to, port, flags);
		},
	);
program
	.command('schema')
	.description('print the JSON Schema of scenario files (for editors)')
	.action(async () => {
		const { jsonSchema } = await import('../scenario/schema.js');
		console.log(JSON.stringify(jsonSchema(), null, 2));
	});
program
	.command('service')
	.argument('<name>', 'calculator, sum, sub, mul or div')
	.requiredOption('--port <n>')
	.option('--host <address>', 'address to listen on', '0.0.0.0')
	.option('--sum <host:port>')
	.option('--sub <host:port>')
	.option('--mul <host:port>')
	.option('--div <host:port>')
	.description('run one calculator service in the foreground')
	.action(async (name: string, flags: Record<string, string>) => {
		const { startService, HTTP_SERVICES } = await import('../../services/index.js');
		if (!(HTTP_SERVICES as string[]).includes(name))
			throw new LabcheckError(`unknown service "${name}"; known: ${HTTP_SERVICES.join(', ')}`);
		await startService(name as (typeof HTTP_SERVICES)[number], {
			port: Number(flags.port),
			host: flags.host,
			peers: { sum: flags.sum, sub: flags.sub, mul: flags.mul, div: flags.div },
		});
		console.log(`${name} listening on ${flags.host}:${flags.port}`);
		exitCode = -1;
	});

installSignalHandlers();
try {
	await program.parseAsync(process.argv);
	if (interrupted()) await new Promise(() => {}); // the signal handler exits once the lab is down
	if (exitCode >= 0) await exit(exitCode);
} catch (error) {
	if (interrupted()) await new Promise(() => {});
	await teardownAll();
	if (error instanceof CommanderError) await exit(error.exitCode === 0 ? 0 : 2);
	if (error instanceof ScenarioError) {
		for (const line of error.message.split('\n')) console.error(`${chalk.red('✖')} ${line}`);
		await exit(error.exitCode);
	}
	if (error instanceof LabcheckError) {
		console.error(
			`${chalk.red('✖')} ${visible(redactText(error.message))}` +
				(error.hint ? `\n  ${chalk.dim(visible(error.hint))}` : ''),
		);
		await exit(error.exitCode);
	}
	console.error(`${chalk.red('✖')} labcheck failed unexpectedly (a bug — please report it):`);
	console.error(error);
	await exit(3);
}
