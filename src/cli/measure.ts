// `labcheck why` on a running lab (`labcheck up`): the real probe, and the evidence behind it —
// the rules whose counters moved while it ran (each named by the rule of the plan it came from), and the source's
// `ip route get`. The lab is reached through its backend.
import { resolve } from 'node:path';
import chalk from 'chalk';
import { probeOf } from '../../probes/index.js';
import { loadBackend } from '../backends/index.js';
import type { PlanCheck } from '../plan/types.js';

/** Runs `check` in the kept lab of `scenario`, if one is up; prints what it measured. */
export async function measure(scenario: string, check: PlanCheck): Promise<boolean> {
	const labs = await (await loadBackend('netns')).kept();
	const lab = labs.find((l) => resolve(l.scenario) === resolve(scenario));
	if (!lab?.nodes.includes(check.from)) return false;
	const network = await lab.network(check.from);
	if (!network) {
		console.log(chalk.dim(`\n${check.from} is not running in lab ${lab.id}: nothing to measure from it`));
		return true;
	}
	const before = await lab.counters();
	try {
		const request = {
			probe: check.probe,
			address: check.to.address,
			port: check.to.port,
			node: check.to.node,
			url: check.to.url,
			options: check.options,
		};
		const result = await probeOf(check.probe)!.run(request, { network, sshKeyFile: lab.sshKeyFile });
		const outcome = result.status === 'ok' ? chalk.green('reachable') : chalk.red(`unreachable (${result.status})`);
		console.log(
			`\nmeasured in lab ${lab.id}: ${outcome} — ${result.detail}` +
				(result.seenFrom ? `; the target saw ${result.seenFrom}` : ''),
		);
	} finally {
		network.close();
	}
	const after = await lab.counters();
	const moved = [...after].flatMap(([node, rules]) =>
		[...rules].flatMap(([rule, n]) => {
			const was = before.get(node)?.get(rule) ?? 0;
			return n > was ? [`  ${node}: ${rule} ${chalk.dim(`(+${n - was} packets)`)}`] : [];
		}),
	);
	console.log(
		moved.length > 0 ? `rules whose counters moved:\n${moved.join('\n')}` : 'no labcheck rule counted a packet',
	);
	console.log(`${check.from}$ ip route get ${check.to.address}\n  ${await lab.route(check.from, check.to.address)}`);
	return true;
}
