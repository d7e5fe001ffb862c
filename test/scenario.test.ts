import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScenarioError } from '../src/errors.js';
import { buildPlan } from '../src/plan/build.js';
import { jsonSchema } from '../src/scenario/schema.js';
import { loadScenario, parseScenario } from '../src/scenario/load.js';
import { ROOT } from './helpers/cli.js';

const invalid = join(ROOT, 'fixtures/invalid');

for (const file of readdirSync(invalid).filter((f) => f.endsWith('.yaml'))) {
	test(`invalid scenario ${file} is refused with its position and a hint`, async (t) => {
		const text = readFileSync(join(invalid, file), 'utf8');
		const expected = /^# expect-error: (.*)$/m.exec(text)![1];
		const at = /^# expect-at: (\d+:\d+)$/m.exec(text)![1];
		const error = await t.throwsAsync(async () => buildPlan(await loadScenario(join(invalid, file))), {
			instanceOf: ScenarioError,
		});
		const lines = error!.message.split('\n');
		t.is(lines.length, 1, `one problem, one line: ${error!.message}`);
		t.true(lines[0].startsWith(`fixtures/invalid/${file}:${at}: `), lines[0]);
		t.true(lines[0].includes(expected), lines[0]);
	});
}

test('every shipped scenario is valid and says what it expects', async (t) => {
	for (const file of readdirSync(join(ROOT, 'scenarios'))) {
		const plan = buildPlan(await loadScenario(join(ROOT, 'scenarios', file)));
		t.true(plan.checks.length > 0, file);
	}
});

test('labcheck.schema.json is the schema the code validates with', (t) => {
	const shipped = JSON.parse(readFileSync(join(ROOT, 'labcheck.schema.json'), 'utf8'));
	t.deepEqual(
		shipped,
		JSON.parse(JSON.stringify(jsonSchema())),
		'run `npm run schema` after changing src/scenario/schema.ts',
	);
});

test('several problems in one file are all reported, in file order', (t) => {
	const text =
		'name: two mistakes\nnodes:\n  host: { kind: hots, on: room }\n  vm: { kind: vm, nat: host, colour: red }\n';
	const error = t.throws(() => parseScenario('two.yaml', text), { instanceOf: ScenarioError });
	t.deepEqual(
		error!.message.split('\n').map((l) => l.split(': ')[0]),
		['two.yaml:3:17', 'two.yaml:4:30'],
	);
	t.regex(error!.message, /did you mean "host"\?/);
});

test('an unknown key inside a node suggests the key it resembles', (t) => {
	const error = t.throws(() => parseScenario('k.yaml', 'name: k\nnodes:\n  vm: { kind: vm, adress: 10.0.0.1 }\n'), {
		instanceOf: ScenarioError,
	});
	t.is(error!.message, 'k.yaml:3:19: unknown key "adress" in `nodes.vm` — did you mean "address"?');
});

test('a NAT guest is 10.0.2.15 behind 10.0.2.2 and a second guest of the same host gets the next subnet', (t) => {
	const plan = buildPlan(
		parseScenario(
			'n.yaml',
			[
				'name: two NAT VMs',
				'networks: { room: { subnet: 10.1.0.0/16 } }',
				'nodes:',
				'  host: { kind: host, on: room }',
				'  vm1: { kind: vm, nat: host }',
				'  vm2: { kind: vm, nat: host }',
			].join('\n'),
		),
	);
	const vm1 = plan.nodes.find((n) => n.name === 'vm1')!;
	const vm2 = plan.nodes.find((n) => n.name === 'vm2')!;
	t.is(vm1.interfaces[0].address, '10.0.2.15');
	t.deepEqual(vm1.routes, [{ to: 'default', via: '10.0.2.2' }]);
	t.is(vm2.interfaces[0].address, '10.0.3.15');
});

test('the egress guard is lifted only by the explicit opt-in', async (t) => {
	const loaded = await loadScenario(join(invalid, 'external-target.yaml'));
	t.throws(() => buildPlan(loaded), { instanceOf: ScenarioError });
	const plan = buildPlan(loaded, { allowExternal: true });
	t.is(plan.checks[0].to.node, undefined);
});

test('"ping * -> *" is every ordered pair of the scenario\'s own nodes; a line naming a pair wins', (t) => {
	const text = [
		'name: wildcard',
		'networks: { room: { subnet: 10.1.0.0/16, gateway: 10.1.0.254 } }',
		'nodes:',
		'  internet: { kind: internet }',
		'  host: { kind: host, on: room, address: 10.1.5.22 }',
		'  vm: { kind: vm, nat: host }',
		'expect:',
		'  - ping * -> *: auto',
		'  - ping host -> vm: unreachable',
		'  - tcp * -> vm:22: { expect: unreachable, timeout: 300 }',
		'',
	].join('\n');
	const plan = buildPlan(parseScenario('wild.yaml', text));
	t.false(
		plan.nodes.every((n) => !n.auto),
		'the plan has nodes labcheck added (the room\'s gateway), which "*" leaves out',
	);
	t.deepEqual(
		plan.checks.map((c) => `${c.id}: ${c.expect}`),
		[
			'ping internet -> host: auto',
			'ping internet -> vm: auto',
			'ping host -> internet: auto',
			'ping vm -> internet: auto',
			'ping vm -> host: auto',
			'ping host -> vm: unreachable',
			'tcp internet -> vm:22: unreachable',
			'tcp host -> vm:22: unreachable',
		],
	);
	t.is(plan.checks.at(-1)!.options.timeout, 300, 'options apply to every pair');
	t.is(plan.checks[0].at.line, 8, 'a pair points at its "*" line');
	const error = t.throws(() => buildPlan(parseScenario('bad.yaml', text.replace('tcp * -> vm:22', 'tcp * -> vn:22'))), {
		instanceOf: ScenarioError,
	});
	t.is(
		error!.message,
		'bad.yaml:10:5: unknown node "vn" — did you mean "vm"?',
		'one message for the line, not one per pair',
	);
});
