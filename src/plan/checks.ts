// Expectations → checks: "ping vm -> host@room:22: reachable" parsed, resolved to addresses, egress-guarded.
import { isIP } from 'node:net';
import { isProbeName, probeNames, probeOf } from '../../probes/index.js';
import type { SourcePosition } from '../errors.js';
import type { ProbeOptions } from '../../probes/types.js';
import { didYouMean } from '../scenario/suggest.js';
import type { PlanOptions, Problems } from './context.js';
import { nodeByName, ownerOf, type Plan, type PlanCheck, type PlanTarget } from './types.js';

// Names people reach for first, mapped to the probe that does that job.
const ALIASES: Record<string, string> = {
	icmp: 'did you mean "ping"? (ICMP echo)',
	curl: 'did you mean "http"?',
	connect: 'did you mean "tcp"?',
	nc: 'did you mean "tcp"?',
};

const LINE = /^(\S+)\s+(\S+)\s*->\s*([^\s:]+)(?::(\d+))?$/;
const URL_LINE = /^(\S+)\s+(\S+)\s*->\s*(https?:\/\/\S+)$/;

const EXEC = /^exec\s+(\S+)\s+--\s+(.+)$/;

/** Checks one scenario may hold: all pairs of 500 nodes. Beyond that a run takes longer than anyone waits. */
export const MAX_CHECKS = 250_000;

export function buildChecks(problems: Problems, plan: Plan, options: PlanOptions): PlanCheck[] {
	const { scenario } = problems.loaded;
	const lists = [
		{ step: 0, base: ['expect'], items: scenario.expect ?? [] },
		...(scenario.steps ?? []).map((s, k) => ({ step: k + 1, base: ['steps', k, 'expect'], items: s.expect ?? [] })),
	];
	let total = 0;
	return lists.flatMap(({ step, base, items }) => {
		const built = items.map((item, i) => {
			const checks = total > MAX_CHECKS ? [] : buildChecksOf(problems, plan, options, item, [...base, i], step);
			total += checks.length;
			if (total > MAX_CHECKS && total - checks.length <= MAX_CHECKS) {
				problems.add(
					[...base, i],
					`this line brings the scenario to ${total.toLocaleString('en')} checks; ` +
						`one scenario may have at most ${MAX_CHECKS.toLocaleString('en')}`,
					'narrow FROM or TO (e.g. "ping h1 -> *"), or split the lab into several scenarios',
					false,
				);
			}
			return { wildcard: isWildcard(item), checks };
		});
		// A line naming its pair wins over a "*" line covering it; of two "*" lines, the first.
		const taken = new Set(built.filter((b) => !b.wildcard).flatMap((b) => b.checks.map((c) => c.id)));
		return built.flatMap((b) => (b.wildcard ? b.checks.filter((c) => !taken.has(c.id) && taken.add(c.id)) : b.checks));
	});
}

const isWildcard = (item: Record<string, unknown>) => {
	const m = LINE.exec(Object.keys(item)[0]?.trim() ?? '');
	return Boolean(m && (m[2] === '*' || m[3] === '*'));
};

/** The checks of one line: "ping * -> *" stands for every ordered pair of the scenario's own nodes. */
function buildChecksOf(
	problems: Problems,
	plan: Plan,
	options: PlanOptions,
	item: Record<string, unknown>,
	at: Array<string | number>,
	step: number,
): PlanCheck[] {
	const key = Object.keys(item)[0];
	const m = LINE.exec(key?.trim() ?? '');
	if (!m || (m[2] !== '*' && m[3] !== '*')) {
		const check = buildCheck(problems, plan, options, item, at, step);
		return check ? [check] : [];
	}
	const [, probe, from, to, port] = m;
	const own = plan.nodes.filter((n) => !n.auto).map((n) => n.name);
	const sources = from === '*' ? own : [from];
	const targets = to === '*' ? own : [to];
	// Counted before any is made: a line over the bound is one problem, not a million objects.
	const inBoth = new Set(targets);
	const count = sources.length * targets.length - sources.filter((a) => inBoth.has(a)).length;
	if (count > MAX_CHECKS) return new Array(count);
	const position = problems.loaded.source.at([...at, key], true);
	const checks: PlanCheck[] = [];
	// A check depends on its source only by its name: each target is read once (300 hosts: 89,700 checks from 300).
	const toTarget = new Map<string, PlanCheck>();
	for (const a of sources) {
		for (const b of targets) {
			if (a === b) continue;
			const known = toTarget.get(b);
			if (known && from === '*') {
				checks.push({ ...known, id: `${probe} ${a} -> ${known.to.label}`, from: a });
				continue;
			}
			const check = buildCheck(
				problems,
				plan,
				options,
				{ [`${probe} ${a} -> ${b}${port ? `:${port}` : ''}`]: item[key] },
				at,
				step,
				key,
				position,
			);
			if (!check) return checks; // the line's mistake is reported once
			toTarget.set(b, check);
			checks.push(check);
		}
	}
	return checks;
}

/** One check; `written` is the line as the file has it, when `item` is one pair of a "*" line. */
function buildCheck(
	problems: Problems,
	plan: Plan,
	options: PlanOptions,
	item: Record<string, unknown>,
	at: Array<string | number>,
	step: number,
	written?: string,
	position?: SourcePosition,
): PlanCheck | undefined {
	{
		const [key, value] = Object.entries(item)[0] as [string, string | ({ expect: PlanCheck['expect'] } & ProbeOptions)];
		const path = [...at, written ?? key];
		const where = () => position ?? problems.loaded.source.at(path, true);
		const problem = (message: string, hint?: string): undefined => {
			problems.add(path, message, hint, true);
			return undefined;
		};
		const { expect, ...rest } = typeof value === 'string' ? { expect: value as PlanCheck['expect'] } : value;
		/** An option the line's probe does not read is a mistake (a typo, or an option of another probe). */
		const foreign = (probe: string) => {
			const reads = Object.keys(probeOf(probe)!.options);
			const wrong = Object.keys(rest).find((k) => !reads.includes(k));
			if (wrong) {
				const others = probeNames.filter((n) => n !== probe && wrong in probeOf(n)!.options);
				problem(
					`${probe} has no option "${wrong}"` +
						(others.length ? ` (${others.join(', ')} ${others.length > 1 ? 'have' : 'has'} it)` : ''),
					reads.length ? `${probe} reads: ${reads.join(', ')}` : `${probe} takes no options`,
				);
			}
			return wrong !== undefined;
		};
		/** A source that is no node of the scenario: said, with the node it may have meant. */
		const unknownSource = (from: string) => {
			if (nodeByName(plan, from)) return false;
			problem(
				`unknown node "${from}"`,
				didYouMean(
					from,
					plan.nodes.map((n) => n.name),
				),
			);
			return true;
		};
		/** `http FROM -> https://host[:port]/path`: a web address, as real labs need (a PaaS app, a name). */
		const urlCheck = (probe: string, from: string, text: string): PlanCheck | undefined => {
			if (probe !== 'http')
				return problem(`a URL is a target for http, not ${probe}`, `e.g. "http ${from} -> ${text}"`);
			if (foreign(probe)) return undefined;
			if (unknownSource(from)) return undefined;
			let url: URL;
			try {
				url = new URL(text);
			} catch {
				return problem(`cannot read the URL "${text}"`, 'e.g. https://app.example.org/ or http://10.1.5.39:50000/');
			}
			const host = url.hostname;
			const named = nodeByName(plan, host.replace(/\.lab$/, ''));
			const inLab = isIP(host) ? resolveTarget(plan, host, options) : named && resolveTarget(plan, named.name, options);
			if (!inLab || typeof inLab === 'string') {
				if (!options.real)
					return problem(
						typeof inLab === 'string' ? inLab : `${host} is not a node of this lab`,
						'a name or an address outside the lab is for real labs (`--on INVENTORY`)',
					);
			}
			const https = url.protocol === 'https:';
			const lab = inLab && typeof inLab !== 'string' ? inLab : undefined;
			return {
				id: `${probe} ${from} -> ${text}`,
				step,
				at: where(),
				probe,
				from,
				to: {
					label: text,
					node: lab?.node,
					address: lab?.address ?? host,
					port: Number(url.port || (https ? 443 : 80)),
					url: { https, host, path: `${url.pathname}${url.search}` },
				},
				expect,
				options: rest,
			};
		};
		const exec = EXEC.exec(key.trim());
		if (exec) {
			const [, node, command] = exec;
			if (!nodeByName(plan, node))
				return problem(
					`unknown node "${node}"`,
					didYouMean(
						node,
						plan.nodes.map((n) => n.name),
					),
				);
			if (expect !== 'succeeds' && expect !== 'fails')
				return problem(`an exec line expects "succeeds" or "fails", not "${expect}"`);
			if (foreign('exec')) return undefined;
			return {
				id: `exec ${node} -- ${command}`,
				step,
				at: where(),
				probe: 'exec',
				from: node,
				to: { label: node, node, address: '' },
				expect,
				options: { ...rest, command },
			};
		}
		if (expect === 'succeeds' || expect === 'fails')
			return problem(`"${expect}" is for exec lines; a ${key.split(/\s/)[0]} probe is reachable or unreachable`);
		const web = URL_LINE.exec(key.trim());
		if (web) return urlCheck(web[1], web[2], web[3]);
		const m = LINE.exec(key.trim());
		if (!m) {
			problem(
				`cannot read expectation "${key}"`,
				'write it as "PROBE FROM -> TO[:PORT]", e.g. "ping vm -> host", "ssh host -> host:1234" or "ping * -> *"',
			);
			return undefined;
		}
		const [, probe, from, to, portText] = m;
		const target = resolveTarget(plan, to, options);
		if (!isProbeName(probe)) {
			problem(
				`unknown probe "${probe}"`,
				ALIASES[probe.toLowerCase()] ?? didYouMean(probe, probeNames) ?? `known: ${probeNames.join(', ')}`,
			);
			return undefined;
		}
		if (probeOf(probe)!.judged === 'run')
			return problem(
				`"${probe}" runs a command: write it "${probe} NODE -- COMMAND"`,
				`e.g. "${probe} ${from} -- ping -c1 ${to}"`,
			);
		if (foreign(probe)) return undefined;
		if (unknownSource(from)) return undefined;
		if (typeof target === 'string') {
			problem(
				target,
				to.includes('@')
					? undefined
					: didYouMean(
							to,
							plan.nodes.map((n) => n.name),
						),
			);
			return undefined;
		}
		const info = probeOf(probe)!;
		let port = portText === undefined ? undefined : Number(portText);
		if (port !== undefined && (port < 1 || port > 65535)) {
			problem(`port ${port} is out of range`, 'ports are 1-65535');
			return undefined;
		}
		if (info.port === 'none' && port !== undefined) {
			problem(
				`${probe} has no port`,
				`drop ":${port}", or use a probe with a port: ` +
					probeNames.filter((n) => probeOf(n)!.port !== 'none').join(', '),
			);
			return undefined;
		}
		if (info.port === 'required' && port === undefined) {
			problem(`${probe} needs a port`, `e.g. "${probe} ${from} -> ${to}:22"`);
			return undefined;
		}
		if (info.port === 'optional' && port === undefined) port = defaultPort(plan, probe, target) ?? info.defaultPort;
		const probeOptions: ProbeOptions = rest;
		const label = `${target.label}${port !== undefined && portText !== undefined ? `:${port}` : ''}`;
		return {
			id: `${probe} ${from} -> ${label}`,
			step,
			at: where(),
			probe,
			from,
			to: { ...target, label, port },
			expect,
			options: probeOptions,
		};
	}
}

/**
 * `node`, `node@network`, `node@floating` or an address of the lab → where probes go; a string says what is wrong.
 */
export function resolveTarget(plan: Plan, text: string, options: PlanOptions): PlanTarget | string {
	if (isIP(text)) {
		const owner = ownerOf(plan, text);
		if (owner) return { label: text, node: owner.node.name, address: text };
		const floating = [...floatingAddresses(plan)].find(([, address]) => address === text);
		if (floating) return { label: text, node: floating[0], address: text };
		if (options.allowExternal || options.real) return { label: text, address: text };
		const internet = plan.nodes.find((n) => n.kind === 'internet');
		const its = internet ? ` (the lab's internet is ${internet.interfaces[0]?.address})` : '';
		return (
			`${text} is not an address of this lab; labcheck only probes its own lab${its}. ` +
			'Pass --allow-external to probe it anyway'
		);
	}
	const [name, network] = text.split('@');
	const node = nodeByName(plan, name);
	if (!node) return `unknown node "${name}"`;
	if (!network) return { label: name, node: name, address: node.interfaces[0].address };
	if (network === 'floating') {
		const address = floatingAddresses(plan).get(name);
		return address
			? { label: text, node: name, address }
			: `${name} has no floating IP: give a router \`floating: { IP: ${name} }\` or add a step "float ${name} IP"`;
	}
	const iface = node.interfaces.find((i) => i.network === network);
	if (!iface)
		return `${name} has no address on "${network}"; it is on ${node.interfaces.map((i) => i.network).join(', ')}`;
	return { label: text, node: name, address: iface.address };
}

// http to a node running a labcheck service goes to that service's port unless the line names one.
function defaultPort(plan: Plan, probe: string, target: PlanTarget): number | undefined {
	if (probe !== 'http' || !target.node) return undefined;
	const services = nodeByName(plan, target.node)!.services.filter((s) => s.name !== 'sshd');
	return (services.find((s) => s.name === 'calculator') ?? services[0])?.port;
}

/** Floating IPs the scenario gives: routers' `floating`, and every "float NODE IP" of its steps. */
function floatingAddresses(plan: Plan): Map<string, string> {
	const found = new Map<string, string>();
	for (const router of plan.nodes) for (const f of router.floating) found.set(f.node, f.address);
	for (const action of plan.steps.flatMap((s) => s.actions)) {
		if (action.verb === 'float' && !found.has(action.target)) found.set(action.target, action.arg!);
	}
	return found;
}
