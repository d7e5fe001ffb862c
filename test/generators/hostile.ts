// Scenario files as a careless or hostile user writes them: every field of the format with values
// in and out of range, names that exist and that do not, then text mutations of the YAML itself
// (aliases, merges, brackets, tabs, cut lines). Shared by the fuzz test and `npm run fuzz`.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { NETWORK_ROLES, NODE_KINDS, OUTCOMES, SERVICE_NAMES } from '../../src/scenario/schema.js';
import { randomDockerTopology, randomTopology } from './topology.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const NAMES = ['host', 'vm', 'vm2', 'ct1', 'ct2', 'r1', 'r2', 'internet', 'neighbour', 'room', 'lan', 'priv', 'a', 'b'];
const name = fc.oneof(
	{ weight: 8, arbitrary: fc.constantFrom(...NAMES) },
	{ weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const ip = fc.oneof(
	{ weight: 3, arbitrary: fc.ipV4() },
	{
		weight: 3,
		arbitrary: fc.constantFrom(
			'10.1.5.22',
			'10.1.0.254',
			'10.0.2.15',
			'10.0.2.3',
			'192.168.0.11',
			'192.168.37.60',
			'203.0.113.10',
			'172.17.0.2',
		),
	},
	{
		weight: 1,
		arbitrary: fc.constantFrom(
			'65536.168.37.60',
			'1.2.3',
			'0.0.0.0',
			'255.255.255.255',
			'224.0.0.5',
			'127.0.0.1',
			'010.1.1.1',
			'',
		),
	},
	{ weight: 1, arbitrary: fc.string({ maxLength: 16 }) },
);
const cidr = fc.oneof(
	{
		weight: 3,
		arbitrary: fc.constantFrom(
			'10.1.0.0/16',
			'192.168.0.0/24',
			'192.168.37.0/24',
			'172.16.0.0/24',
			'10.0.0.0/29',
			'10.9.0.0/30',
			'10.0.2.0/24',
		),
	},
	{ weight: 2, arbitrary: fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 33 })).map(([a, p]) => `${a}/${p}`) },
	{
		weight: 1,
		arbitrary: fc.constantFrom(
			'0.0.0.0/0',
			'10.1.5.22/16',
			'127.0.0.0/8',
			'224.0.0.0/4',
			'203.0.113.0/24',
			'240.0.0.0/8',
			'1.2.3.4/32',
		),
	},
);
const port = fc.oneof(
	{ weight: 3, arbitrary: fc.constantFrom(22, 80, 1234, 2222, 8080, 50000, 50001) },
	{ weight: 1, arbitrary: fc.integer({ min: -1, max: 70_000 }) },
);
const portSpec = fc.oneof(
	fc.tuple(port, port, fc.constantFrom('', '/tcp', '/udp', '/sctp')).map(([h, g, p]) => `${h}:${g}${p}`),
	fc.record({ host: port, guest: port, proto: fc.option(fc.constantFrom('tcp', 'udp', 'icmp'), { nil: undefined }) }),
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const rule = fc
	.tuple(
		fc.constantFrom('allow', 'deny', ''),
		fc.constantFrom('tcp', 'udp', 'icmp', 'any', 'gre'),
		opt(port),
		opt(port),
		fc.oneof(cidr, ip, fc.constant('any')),
	)
	.map(
		([verb, proto, lo, hi, from]) =>
			`${verb} ${proto}${lo !== undefined ? `/${lo}${hi !== undefined ? `-${hi}` : ''}` : ''} from ${from}`,
	);
const route = fc.tuple(fc.oneof(fc.constant('default'), cidr), ip).map(([to, via]) => `${to} via ${via}`);

const network = fc.record(
	{
		subnet: cidr,
		gateway: opt(ip),
		role: opt(fc.constantFrom(...NETWORK_ROLES, 'bogus')),
		masquerade: opt(fc.boolean()),
		docker: opt(name),
		internal: opt(fc.boolean()),
	},
	{ requiredKeys: ['subnet'] },
);

const node = fc.record(
	{
		kind: fc.oneof(
			{ weight: 9, arbitrary: fc.constantFrom(...NODE_KINDS) },
			{ weight: 1, arbitrary: fc.constant('bogus') },
		),
		on: opt(name),
		address: opt(ip),
		interfaces: opt(fc.dictionary(name, ip, { maxKeys: 3 })),
		gateway: opt(ip),
		nat: opt(fc.oneof(name, fc.record({ via: name, subnet: opt(cidr) }, { requiredKeys: ['via'] }))),
		bridge: opt(name),
		forward: opt(fc.array(portSpec, { maxLength: 3 })),
		services: opt(
			fc.array(
				fc.oneof(
					fc.constantFrom(...SERVICE_NAMES, 'ftp'),
					fc.record({ name: fc.constantFrom(...SERVICE_NAMES), port: opt(port) }),
				),
				{ maxLength: 3 },
			),
		),
		docker: opt(name),
		image: opt(
			fc.oneof(
				fc.constantFrom('labcheck/base', 'ct2-snapshot', '../../../etc', 'UPPER', 'a:b:c'),
				fc.string({ maxLength: 12 }),
			),
		),
		publish: opt(fc.array(portSpec, { maxLength: 3 })),
		start: opt(fc.boolean()),
		routes: opt(fc.array(route, { maxLength: 3 })),
		security_group: opt(fc.array(rule, { maxLength: 3 })),
		snat: opt(fc.array(name, { maxLength: 2 })),
		floating: opt(fc.dictionary(ip, name, { maxKeys: 2 })),
	},
	{ requiredKeys: ['kind'] },
);

const target = fc.oneof(
	name,
	fc.constant('*'),
	ip,
	name.map((n) => `${n}@floating`),
	fc.tuple(name, name).map(([a, b]) => `${a}@${b}`),
);
const line = fc
	.tuple(
		fc.constantFrom('ping', 'tcp', 'http', 'ssh', 'udp', 'dns', 'exec', 'icmp', 'curl'),
		fc.oneof(name, fc.constant('*')),
		target,
		opt(port),
	)
	.map(([probe, from, to, p]) => `${probe} ${from} -> ${to}${p !== undefined ? `:${p}` : ''}`);
const outcome = fc.oneof(
	fc.constantFrom(...OUTCOMES, 'maybe'),
	fc.record(
		{
			expect: fc.constantFrom(...OUTCOMES),
			count: opt(fc.integer({ min: -1, max: 200 })),
			timeout: opt(fc.integer({ min: 0, max: 100_000 })),
			body: opt(fc.string({ maxLength: 10 })),
			match: opt(fc.string({ maxLength: 5 })),
			name: opt(fc.string({ maxLength: 12 })),
			command: opt(fc.string({ maxLength: 5 })),
		},
		{ requiredKeys: ['expect'] },
	),
);
const expectation = fc.oneof(
	{ weight: 6, arbitrary: fc.tuple(line, outcome).map(([k, v]) => ({ [k]: v })) },
	{
		weight: 1,
		arbitrary: fc
			.tuple(name, fc.constantFrom('true', 'rm -rf /tmp/none', 'test -e /x'))
			.map(([n, c]) => ({ [`exec ${n} -- ${c}`]: 'succeeds' })),
	},
);
const action = fc.oneof(
	fc.tuple(rule, name).map(([r, n]) => `${r} to ${n}`),
	fc.tuple(rule, name).map(([r, n]) => `revoke ${r.replace(/^\S*\s/, '')} to ${n}`),
	fc.tuple(name, ip).map(([n, a]) => `float ${n} ${a}`),
	name.map((n) => `unfloat ${n}`),
	fc.tuple(name, route).map(([n, r]) => `route add ${n} ${r}`),
	fc.tuple(name, fc.oneof(fc.constant('default'), cidr)).map(([n, r]) => `route del ${n} ${r}`),
	fc.tuple(fc.constantFrom('down', 'up'), name, name).map(([d, n, net]) => `link ${d} ${n} ${net}`),
	fc
		.tuple(fc.constantFrom('stop', 'start'), name, fc.constantFrom(...SERVICE_NAMES, 'nope'))
		.map(([d, n, s]) => `service ${d} ${n} ${s}`),
	fc
		.tuple(fc.constantFrom('stop', 'start', 'remove', 'commit', 'build'), name)
		.map(([v, n]) => (v === 'commit' ? `commit ${n} as snap-${n}` : `${v} ${n}`)),
	fc.string({ maxLength: 20 }),
);

/** A scenario as data: every key of the format, values valid or not. */
export const scenarioData = fc.record(
	{
		name: fc.oneof(fc.constant('fuzzed lab'), fc.string({ maxLength: 8 })),
		networks: opt(fc.dictionary(name, network, { maxKeys: 4 })),
		nodes: fc.dictionary(name, node, { minKeys: 1, maxKeys: 6 }),
		expect: opt(fc.array(expectation, { maxLength: 6 })),
		steps: opt(
			fc.array(
				fc.record({
					name: fc.constant('a step'),
					do: opt(fc.array(action, { maxLength: 3 })),
					expect: opt(fc.array(expectation, { maxLength: 3 })),
				}),
				{ maxLength: 3 },
			),
		),
		images: opt(
			fc.dictionary(
				fc.oneof(fc.constant('snap'), fc.string({ maxLength: 6 })),
				fc.record({ dockerfile: fc.constant('FROM labcheck/base') }),
				{ maxKeys: 1 },
			),
		),
	},
	{ requiredKeys: ['name', 'nodes'] },
);

// What people and attackers type into YAML by hand.
const TOKENS = [
	'&a ',
	'*a',
	'<<: *a\n',
	'<<: [1, 2]\n',
	'{',
	'}',
	'[',
	']',
	'\t',
	': ',
	'- ',
	'"',
	"'",
	'#',
	'\n  ',
	'!!binary ',
	'%YAML 1.2\n',
	'---\n',
	'...\n',
	'? ',
	'|\n',
	'>',
	'\u0000',
	'\ufeff',
	'é',
	'0x1F',
	'1e999',
	'.inf',
	'null',
	'~',
];
const mutation = fc.oneof(
	fc.tuple(fc.nat(), fc.constantFrom(...TOKENS)).map(
		([at, token]) =>
			(text: string) =>
				text.slice(0, at % (text.length + 1)) + token + text.slice(at % (text.length + 1)),
	),
	fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(
		([at, n]) =>
			(text: string) =>
				text.slice(0, at % (text.length + 1)) + text.slice((at % (text.length + 1)) + n),
	),
	fc.nat().map((k) => (text: string) => {
		const lines = text.split('\n');
		const i = k % lines.length;
		lines.splice(i, 0, lines[i]);
		return lines.join('\n');
	}),
);

/** `base` texts with a few text mutations. */
const mutated = (base: fc.Arbitrary<string>) =>
	fc
		.tuple(base, fc.array(mutation, { maxLength: 3 }))
		.map(([text, mutations]) => mutations.reduce((t, m) => m(t), text));

const SHIPPED = readdirSync(join(ROOT, 'scenarios')).map((f) => readFileSync(join(ROOT, 'scenarios', f), 'utf8'));

/**
 * YAML text: a generated scenario of any shape; a valid random lab or a shipped scenario — each
 * sometimes mutated as text, so the fuzzer also reaches the plan and the model, not only the schema.
 */
export const scenarioText = fc.oneof(
	mutated(scenarioData.map((data) => stringify(data))),
	mutated(fc.integer({ min: 1, max: 1_000_000 }).map((seed) => randomTopology(seed).text)),
	mutated(fc.integer({ min: 1, max: 1_000_000 }).map((seed) => randomDockerTopology(seed).text)),
	mutated(fc.constantFrom(...SHIPPED)),
);
