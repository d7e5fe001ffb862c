// The rules labcheck installs, as data rendered to iptables: the rendered text of every shipped
// scenario is checked in (test/golden/), reviewed like code. After a deliberate change:
// npm run build && LABCHECK_GOLDEN=update npx ava dist/test/rules.test.js
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { managed, natRules, sysctls } from '../src/backends/netns/firewall.js';
import { planAt } from '../src/plan/apply.js';
import { buildPlan } from '../src/plan/build.js';
import { nodeRules } from '../src/plan/rules.js';
import { loadScenario } from '../src/scenario/load.js';
import { ROOT } from './helpers/cli.js';

const GOLDEN = join(ROOT, 'test', 'golden');

/** Every managed node's rules, policy routing and kernel settings, at each step where they change. */
function rendered(states: ReturnType<typeof planAt>): string {
	const out: string[] = [];
	const last = new Map<string, string>();
	for (const [step, plan] of states.entries()) {
		for (const node of plan.nodes.filter(managed)) {
			const { iptables, ip } = natRules(node);
			const settings = Object.entries(sysctls(node)).map(([k, v]) => `sysctl ${k}=${v}`);
			const text = [...settings, ...ip.map((l) => `ip ${l}`), ...(iptables ? [iptables.trimEnd()] : [])].join('\n');
			if (!text || last.get(node.name) === text) continue;
			last.set(node.name, text);
			out.push(`## ${node.name}${step === 0 ? '' : ` after step ${step}`}\n${text}\n`);
		}
	}
	return out.join('\n');
}

for (const file of readdirSync(join(ROOT, 'scenarios')).filter((f) => f.endsWith('.yaml'))) {
	test(`the iptables text of ${file} is the reviewed one (test/golden)`, async (t) => {
		const plan = buildPlan(await loadScenario(join(ROOT, 'scenarios', file)));
		const text = rendered(planAt(plan));
		const golden = join(GOLDEN, file.replace(/\.yaml$/, '.rules'));
		if (process.env.LABCHECK_GOLDEN === 'update') writeFileSync(golden, text);
		t.true(existsSync(golden), `no reviewed rules for ${file}: LABCHECK_GOLDEN=update, then review test/golden`);
		t.is(text, readFileSync(golden, 'utf8'), `rendered rules of ${file} changed: review, then LABCHECK_GOLDEN=update`);
	});
}

test('every installed rule carries the id of the rule it came from, unique in its node', async (t) => {
	let checked = 0;
	for (const file of readdirSync(join(ROOT, 'scenarios')).filter((f) => f.endsWith('.yaml'))) {
		for (const plan of planAt(buildPlan(await loadScenario(join(ROOT, 'scenarios', file))))) {
			for (const node of plan.nodes.filter(managed)) {
				const rules = ['nat', 'mangle', 'filter'].flatMap((table) => nodeRules(node).filter((r) => r.table === table));
				const ids = rules.map((r) => r.id);
				t.is(new Set(ids).size, ids.length, `${file} ${node.name}: ids are unique`);
				const lines = (natRules(node).iptables ?? '').split('\n').filter((l) => l.startsWith('-A '));
				t.is(lines.length, rules.length, `${file} ${node.name}: one iptables line a rule`);
				for (const [i, line] of lines.entries()) t.true(line.includes(`"labcheck:${ids[i]} `), line);
				checked += lines.length;
			}
		}
	}
	t.true(checked > 50, `${checked} rules checked`);
});
