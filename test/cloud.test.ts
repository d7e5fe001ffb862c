// The cloud labs of LAB-REFERENCE §5-§7, built for real and replayed step by step.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNothingLeft, labcheck, snapshot } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('cloud');
type Result = {
	id: string;
	step: number;
	actual: string;
	predicted?: string;
	status: string;
	detail: string;
	seenFrom?: string;
	explanation?: string;
};

test.before(async () => {
	await labcheck(['clean']);
});

async function run(t: import('ava').ExecutionContext, scenario: string) {
	const before = await snapshot();
	const json = join(tmp, `${scenario.replace(/\W/g, '_')}.json`);
	const result = await labcheck(['run', scenario, '--json', json, '--report', join(tmp, 'r.md')]);
	t.is(result.exitCode, 0, `${result.stdout}${result.stderr}`);
	await assertNothingLeft(t, before);
	const results = (JSON.parse(readFileSync(json, 'utf8')) as { results: Result[] }).results;
	for (const r of results) t.is(r.predicted, r.actual, `the model predicted ${r.id} at step ${r.step}`);
	return {
		at: (step: number) => Object.fromEntries(results.filter((r) => r.step === step).map((r) => [r.id, r.actual])),
		find: (step: number, id: string) => results.find((r) => r.step === step && r.id === id)!,
	};
}

// The measured matrices, step by step, written from LAB-REFERENCE independently of the scenario files.
test.serial(
	'§5 floating IP: default group blocks, ICMP+SSH rules let the VM out, only the floating IP lets the host in',
	async (t) => {
		const { at, find } = await run(t, 'scenarios/floating-ip.yaml');
		t.deepEqual(at(0), { 'ping vm -> host': 'unreachable', 'ping host -> vm': 'unreachable' });
		t.deepEqual(at(1), {
			'ping vm -> host': 'reachable',
			'ping host -> vm': 'unreachable',
			'ping host -> vm@floating': 'unreachable',
		});
		t.deepEqual(at(2), {
			'ping host -> vm@floating': 'reachable',
			'ssh host -> vm@floating': 'reachable',
			'ping host -> vm': 'unreachable',
		});
		t.is(find(2, 'ssh host -> vm@floating').seenFrom, '10.1.5.22', '1:1 NAT keeps the source');
		t.regex(
			find(0, 'ping vm -> host').explanation!,
			/vm's security group allows no icmp reply ingress from 10\.1\.5\.22/,
		);
		t.regex(find(0, 'ping host -> vm').explanation!, /private address on private, hidden behind router's SNAT/);
		t.regex(find(1, 'ping host -> vm@floating').explanation!, /no floating IP is associated with vm/);
	},
);

test.serial(
	'§6 calculator on five VMs: result = 22 through the floating IP; closing the ports gives a 502 that names the peer',
	async (t) => {
		const { at, find } = await run(t, 'scenarios/calculator-cloud.yaml');
		t.regex(find(0, 'http host -> calc@floating').detail, /result = 22|result = 3\.5|cannot parse/);
		t.is(find(0, 'http calc -> sub').detail, 'POST / → 200 "9"');
		t.deepEqual(at(1), { 'tcp calc -> sum:50001': 'unreachable', 'http host -> calc@floating': 'reachable' });
		t.regex(find(1, 'http host -> calc@floating').detail, /502 "sum service 192\.168\.0\.11:50001 unreachable/);
		t.regex(find(1, 'tcp calc -> sum:50001').explanation!, /sum's security group allows no tcp\/50001 ingress/);
	},
);

test.serial(
	"§7 routed networks: nothing before the routes, 22 after the front end's routes, internet after r1's",
	async (t) => {
		const { at, find } = await run(t, 'scenarios/routed.yaml');
		t.deepEqual(at(0), {
			'ping calc -> sum': 'unreachable',
			'http host -> calc@floating': 'unreachable',
			'ping sum -> internet': 'unreachable',
		});
		t.deepEqual(at(1), {
			'ping calc -> sum': 'reachable',
			'http host -> calc@floating': 'reachable',
			'ping sum -> internet': 'unreachable',
		});
		t.deepEqual(at(2), { 'ping sum -> internet': 'reachable' });
		t.regex(find(1, 'http host -> calc@floating').detail, /result = 22/);
		t.is(find(0, 'ping calc -> sum').status, 'no-route');
		t.regex(find(1, 'ping sum -> internet').explanation!, /r1, on the way from sum, has no route to 203\.0\.113\.10/);
		t.regex(find(0, 'http host -> calc@floating').explanation!, /calc has no route back to 10\.1\.5\.22/);
	},
);
