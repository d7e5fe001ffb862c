// The model alone: predictions for every shipped scenario agree with its expectations (which the lab
// tests check against the real lab), and corner cases no scenario covers.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { predict } from '../src/model/predict.js';
import { planAt } from '../src/plan/apply.js';
import { buildPlan } from '../src/plan/build.js';
import type { Plan, PlanCheck } from '../src/plan/types.js';
import { loadScenario, parseScenario } from '../src/scenario/load.js';
import { labcheck, ROOT } from './helpers/cli.js';

const prediction = (plan: Plan, check: PlanCheck) => predict(planAt(plan)[check.step], check)!;

for (const file of readdirSync(join(ROOT, 'scenarios'))) {
	test(`the model predicts every expectation of ${file}, step by step`, async (t) => {
		const plan = buildPlan(await loadScenario(join(ROOT, 'scenarios', file)));
		for (const check of plan.checks.filter((c) => c.probe !== 'exec')) {
			const p = prediction(plan, check);
			t.is<string, string>(p.outcome, check.expect, `${check.id} (step ${check.step}): ${p.path} ${p.stop ?? ''}`);
		}
	});
}

const lab = (yaml: string) => buildPlan(parseScenario('corner.yaml', yaml));
const only = (plan: Plan, id: string) => prediction(plan, plan.checks.find((c) => c.id === id)!);

test('two VMs behind two hosts are both 10.0.2.15: one "pinging the other" answers itself', (t) => {
	const plan = lab(`name: twins
networks: { room: { subnet: 10.1.0.0/16 } }
nodes:
  pc1: { kind: host, on: room }
  pc2: { kind: host, on: room }
  vm1: { kind: vm, nat: pc1 }
  vm2: { kind: vm, nat: pc2 }
expect:
  - ping vm1 -> vm2: auto
  - ping pc1 -> vm2: auto
`);
	const self = only(plan, 'ping vm1 -> vm2');
	t.is(self.outcome, 'reachable');
	t.is(self.path, 'vm1: replies to 10.0.2.15', 'vm1 answers its own ping: vm2 is never involved');
	const host = only(plan, 'ping pc1 -> vm2');
	t.is(host.outcome, 'unreachable');
	t.is(host.status, 'no-route', 'pc1 has no default route and its own NAT network is not its to use');
});

test('hairpin: the guest cannot use its own port forward through the host address', (t) => {
	const plan = lab(`name: hairpin
networks: { room: { subnet: 10.1.0.0/16 } }
nodes:
  host: { kind: host, on: room, address: 10.1.5.22 }
  vm: { kind: vm, nat: host, forward: ["1234:22"], services: [sshd] }
expect:
  - tcp vm -> host:1234: auto
  - tcp host -> host:1234: auto
`);
	t.is(only(plan, 'tcp vm -> host:1234').status, 'refused');
	t.is(only(plan, 'tcp host -> host:1234').outcome, 'reachable');
	t.is(only(plan, 'tcp host -> host:1234').seenFrom, '10.0.2.2');
});

test('asymmetric routes: the request arrives, the reply has no way back', (t) => {
	const plan = lab(`name: one way
networks:
  a: { subnet: 192.168.1.0/24 }
  b: { subnet: 192.168.2.0/24 }
nodes:
  r:  { kind: router, interfaces: { a: 192.168.1.1, b: 192.168.2.1 } }
  pa: { kind: host, on: a, address: 192.168.1.10, routes: ["192.168.2.0/24 via 192.168.1.1"] }
  pb: { kind: host, on: b, address: 192.168.2.10, routes: [] }
expect:
  - ping pa -> pb: auto
`);
	const p = only(plan, 'ping pa -> pb');
	t.is(p.outcome, 'unreachable');
	t.is(p.status, 'filtered');
	t.regex(p.stop!, /^pb has no route back to 192\.168\.1\.10 /);
});

test('security groups: stateful for TCP, port ranges, remote CIDR', (t) => {
	const plan = lab(`name: groups
networks: { lan: { subnet: 10.0.0.0/24 } }
nodes:
  a: { kind: host, on: lan, address: 10.0.0.10, security_group: [] }
  b:
    kind: vm
    on: lan
    address: 10.0.0.20
    services: [sum]
    security_group: ["allow tcp/50000-50004 from 10.0.0.0/28"]
  c: { kind: host, on: lan, address: 10.0.0.30 }
expect:
  - tcp a -> b:50001: auto
  - tcp c -> b:50001: auto
  - tcp b -> a:22: auto
`);
	t.is(only(plan, 'tcp a -> b:50001').outcome, 'reachable', "the reply to a TCP connection a opened passes a's group");
	t.regex(only(plan, 'tcp c -> b:50001').stop!, /allows no tcp\/50001 ingress from 10\.0\.0\.30/);
	t.regex(only(plan, 'tcp b -> a:22').stop!, /a's security group allows no tcp\/22 ingress/);
});

test('`labcheck why` names targets as checks do: node@floating after a step, no address outside the lab', async (t) => {
	const floating = await labcheck(['why', 'scenarios/floating-ip.yaml', 'host', 'vm@floating', '--step', '2']);
	t.is(floating.exitCode, 0, floating.stderr);
	t.regex(floating.stdout, /^ping host -> vm@floating after step 2: reachable/);
	t.regex(floating.stdout, /router: floating IP 192\.168\.37\.60 → vm 192\.168\.2\.131/);
	const typo = await labcheck(['why', 'scenarios/nat.yaml', 'host', 'vn']);
	t.is(typo.exitCode, 2);
	t.regex(typo.stderr, /unknown node "vn"\n {2}did you mean "vm"\?/);
	const outside = await labcheck(['why', 'scenarios/nat.yaml', 'vm', '198.51.100.7']);
	t.is(outside.exitCode, 2);
	t.regex(outside.stderr, /198\.51\.100\.7 is not an address of this lab/);
	const allowed = await labcheck(['why', 'scenarios/nat.yaml', 'vm', '198.51.100.7', '--allow-external']);
	t.regex(
		allowed.stdout,
		/host: host's NAT engine hides 10\.0\.2\.0\/24: source 10\.0\.2\.15 becomes 10\.1\.5\.22/,
		'the model follows it once allowed; nothing is probed without a kept lab',
	);
});

test('a forward carries its own protocol: "1234:53/udp" lets UDP in, and is no cause of a TCP check on 1234', (t) => {
	const plan = lab(`name: udp forward
networks: { room: { subnet: 10.1.0.0/16 } }
nodes:
  host: { kind: host, on: room, address: 10.1.5.22 }
  pc: { kind: neighbour, on: room, address: 10.1.5.39 }
  vm: { kind: vm, nat: host, forward: ["1234:53/udp"], services: [dns] }
expect:
  - dns pc -> host:1234: auto
  - tcp pc -> host:1234: auto
  - udp pc -> host:1235: auto
  - dns vm -> 10.0.2.3: auto
  - dns host -> 10.0.2.3: auto
`);
	const dns = only(plan, 'dns pc -> host:1234');
	t.is(dns.status, 'ok');
	t.is(dns.reached, 'vm');
	t.deepEqual(dns.rewrites, [
		'host: port forward 1234/udp → vm 10.0.2.15:53',
		"host's NAT engine, for a port forward: source 10.1.5.39 becomes 10.0.2.2",
	]);
	const tcp = only(plan, 'tcp pc -> host:1234');
	t.is(tcp.status, 'refused');
	t.deepEqual(tcp.rewrites, [], 'the UDP forward does not touch TCP');
	t.is(tcp.stop, 'nothing listens on 10.1.5.22:1234: it answers with a TCP reset');
	t.is(only(plan, 'udp pc -> host:1235').status, 'refused', 'ICMP port unreachable');
	t.is(only(plan, 'dns vm -> 10.0.2.3').status, 'ok', "the guest asks its NAT engine's resolver");
	const host = only(plan, 'dns host -> 10.0.2.3');
	t.is(host.status, 'filtered');
	t.is(host.rule, 'host/nat/vm/resolver');
});

test('an option its probe does not read is refused by name, with the probe that reads it', (t) => {
	const error = t.throws(() =>
		lab(`name: options
networks: { lan: { subnet: 10.0.0.0/24 } }
nodes:
  a: { kind: host, on: lan }
  b: { kind: host, on: lan }
expect:
  - tcp a -> b:22: { expect: reachable, count: 3 }
`),
	);
	t.regex(error!.message, /tcp has no option "count" \(ping has it\)/);
	t.regex(error!.message, /tcp reads: timeout/);
});

test('URL targets: a lab node by name or address is followed; a name outside the lab is for real labs only', (t) => {
	const yaml = (target: string) => `name: urls
networks: { lan: { subnet: 10.0.0.0/24 } }
nodes:
  a: { kind: host, on: lan, address: 10.0.0.10 }
  b: { kind: host, on: lan, address: 10.0.0.20, services: [calculator] }
expect:
  - http a -> ${target}: reachable
`;
	const plan = lab(yaml('http://b.lab:50000/health'));
	const check = plan.checks[0];
	t.like(check.to, {
		node: 'b',
		address: '10.0.0.20',
		port: 50000,
		url: { https: false, host: 'b.lab', path: '/health' },
	});
	t.is(prediction(plan, check).outcome, 'reachable');
	const outside = t.throws(() => lab(yaml('https://app.example.org/')));
	t.regex(
		outside!.message,
		/app\.example\.org is not a node of this lab — a name or an address outside the lab is for real/,
	);
	const real = buildPlan(parseScenario('urls.yaml', yaml('https://app.example.org/')), { real: true }).checks[0];
	t.like(real.to, { address: 'app.example.org', port: 443, url: { https: true } });
	t.is(
		predict(planAt(buildPlan(parseScenario('u.yaml', yaml('https://app.example.org/')), { real: true }))[0], real),
		undefined,
	);
	t.regex(t.throws(() => lab(yaml('ssh://b/')))!.message, /cannot read expectation|a URL is a target for http/);
});
