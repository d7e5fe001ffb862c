// Steps: the changes a scenario makes one after another (commit, stop, start, remove, exec, build).
import { contains, isIPv4, parseCidr, subnetProblem } from '../net/ipv4.js';
import { IMAGE_NAME } from '../scenario/schema.js';
import { didYouMean } from '../scenario/suggest.js';
import type { Problems } from './context.js';
import { applyAction } from './apply.js';
import { onLink, parseRoute, parseRule, routerFor } from './cloud.js';
import {
	nodeByName,
	type Plan,
	type PlanAction,
	type PlanImage,
	type PlanNode,
	type PlanStep,
	type PlanNetwork,
} from './types.js';

const GRAMMAR: Array<[RegExp, PlanAction['verb']]> = [
	[/^allow\s+(.+?)\s+to\s+(\S+)$/, 'allow'],
	[/^revoke\s+(.+?)\s+to\s+(\S+)$/, 'revoke'],
	[/^float\s+(\S+)\s+(\d+\.\d+\.\d+\.\d+)$/, 'float'],
	[/^unfloat\s+(\S+)$/, 'unfloat'],
	[/^route\s+add\s+(\S+)\s+((?:default|\S+\/\d+)\s+via\s+\S+)$/, 'route-add'],
	[/^route\s+del(?:ete)?\s+(\S+)\s+(default|\S+\/\d+)$/, 'route-del'],
	[/^link\s+down\s+(\S+)\s+(\S+)$/, 'link-down'],
	[/^link\s+up\s+(\S+)\s+(\S+)$/, 'link-up'],
	[/^service\s+stop\s+(\S+)\s+(\S+)$/, 'service-stop'],
	[/^service\s+start\s+(\S+)\s+(\S+)$/, 'service-start'],
	[/^commit\s+(\S+)\s+as\s+([a-z0-9][a-z0-9._/-]*(?::[\w.-]+)?)$/, 'commit'],
	[/^(?:stop)\s+(\S+)$/, 'stop'],
	[/^(?:start|run)\s+(\S+)$/, 'start'],
	[/^(?:remove|rm)\s+(\S+)$/, 'remove'],
	[/^exec\s+(\S+)\s+--\s+(.+)$/, 'exec'],
	[/^build\s+(\S+)$/, 'build'],
];

/**
 * What a step changes must make sense at that point, as on a real machine: a route it deletes exists
 * (`ip route del` of a missing route fails), a floating IP it associates is free (neutron refuses it otherwise).
 */
export function checkStepStates(problems: Problems, plan: Plan): void {
	let state = plan;
	for (const action of plan.steps.flatMap((s) => s.actions)) {
		if (action.verb === 'route-del' && action.expect === 'ok') {
			const node = nodeByName(state, action.target)!;
			if (!node.routes.some((r) => r.to === action.route!.to)) {
				problems.list.push({
					at: action.at,
					message: `${action.target} has no ${
						action.route!.to === 'default' ? 'default route' : `route to ${action.route!.to}`
					} at this point`,
					hint:
						`its routes then: ${node.routes.map((r) => `${r.to} via ${r.via}`).join(', ') || 'none'}; ` +
						`write { action: "${action.text}", expect: refused } to show the refusal`,
				});
			}
		}
		if (action.verb === 'route-add' && action.expect === 'ok') {
			const node = nodeByName(state, action.target)!;
			const link = node.interfaces.find((i) =>
				contains(parseCidr(state.networks.find((n) => n.name === i.network)!.subnet), action.route!.via),
			);
			if (link?.down)
				problems.list.push({
					at: action.at,
					message:
						`${action.target}'s link to ${link.network} is down at this point: ` +
						`gateway ${action.route!.via} cannot be used`,
					hint: `bring it up first: "link up ${action.target} ${link.network}"`,
				});
		}
		if (action.verb === 'float' && action.expect === 'ok') {
			const holder = state.nodes
				.flatMap((n) => n.floating)
				.find((f) => f.address === action.arg && f.node !== action.target);
			if (holder)
				problems.list.push({
					at: action.at,
					message: `floating IP ${action.arg} is associated with ${holder.node} at this point`,
					hint: `a floating IP belongs to one port at a time: add "unfloat ${holder.node}" before it`,
				});
		}
		if (action.expect === 'ok') state = applyAction(state, action);
	}
}

export function buildSteps(problems: Problems, plan: Plan): { steps: PlanStep[]; images: PlanImage[] } {
	const { scenario } = problems.loaded;
	const images = Object.entries(scenario.images ?? {}).map(([name, spec]) => ({ name, dockerfile: spec.dockerfile }));
	const steps = (scenario.steps ?? []).map((step, k) => ({
		name: step.name,
		actions: (step.do ?? []).flatMap((item, i) => {
			const text = typeof item === 'string' ? item : item.action;
			const path = typeof item === 'string' ? ['steps', k, 'do', i] : ['steps', k, 'do', i, 'action'];
			const action = parseAction(problems, plan, images, text.trim(), path);
			return action
				? [
						{
							...action,
							expect: typeof item === 'string' ? 'ok' : item.expect,
							at: problems.loaded.source.at(path),
						} as PlanAction,
					]
				: [];
		}),
	}));
	return { steps, images };
}

function parseAction(problems: Problems, plan: Plan, images: PlanImage[], text: string, path: Array<string | number>) {
	for (const [re, verb] of GRAMMAR) {
		const m = re.exec(text);
		if (!m) continue;
		let [, target, arg] = m;
		if (verb === 'allow' || verb === 'revoke') [target, arg] = [m[2], m[1]];
		if (verb === 'build') {
			if (!images.some((i) => i.name === target)) {
				problems.add(
					path,
					`no image "${target}" to build`,
					didYouMean(
						target,
						images.map((i) => i.name),
					) ?? 'declare it under `images:` with a `dockerfile`',
				);
				return undefined;
			}
			return { text, verb, target };
		}
		if (verb === 'commit' && !IMAGE_NAME.test(arg!)) {
			problems.add(path, `"${arg}" is not a Docker image name`, 'e.g. ct2-snapshot or lab/ct2:v1');
			return undefined;
		}
		const node = nodeByName(plan, target);
		if (!node) {
			problems.add(
				path,
				`unknown node "${target}"`,
				didYouMean(
					target,
					plan.nodes.map((n) => n.name),
				),
			);
			return undefined;
		}
		const cloud = checkCloudAction(plan, verb, node, arg);
		if (cloud === undefined) {
			/* not a cloud verb */
		} else if (typeof cloud === 'string') {
			problems.add(path, cloud);
			return undefined;
		} else return { text, verb, target, arg, ...cloud };
		if (verb !== 'exec' && !node.container) {
			problems.add(path, `${verb} works on containers; "${target}" is a ${node.kind}`);
			return undefined;
		}
		return { text, verb, target, arg };
	}
	problems.add(
		path,
		`cannot read action "${text}"`,
		'actions: allow RULE to NODE, revoke RULE to NODE, float NODE IP, unfloat NODE, ' +
			'route add NODE SUBNET via GW, route del NODE SUBNET, link down|up NODE NETWORK, service stop|start NODE NAME, ' +
			'commit CT as IMAGE, stop CT, start CT, remove CT, exec NODE -- COMMAND, build IMAGE',
	);
	return undefined;
}

const CLOUD = new Set<PlanAction['verb']>([
	'allow',
	'revoke',
	'float',
	'unfloat',
	'route-add',
	'route-del',
	'link-down',
	'link-up',
	'service-stop',
	'service-start',
]);

/**
 * Checks a cloud action against the plan: a sentence saying what is wrong, its parsed parts, or undefined for other
 * verbs.
 */
function checkCloudAction(
	plan: Plan,
	verb: PlanAction['verb'],
	node: PlanNode,
	arg: string | undefined,
): Partial<PlanAction> | string | undefined {
	if (!CLOUD.has(verb)) return undefined;
	const networks = new Map<string, PlanNetwork>(plan.networks.map((n) => [n.name, n]));
	switch (verb) {
		case 'allow':
		case 'revoke': {
			if (!node.security) return `${node.name} has no security group; give it one with \`security_group: []\``;
			const rule = parseRule(`allow ${arg}`);
			return typeof rule === 'string' ? rule : { rule };
		}
		case 'float': {
			if (!isIPv4(arg!)) return `floating IP "${arg}" is not an IPv4 address such as 192.168.37.60`;
			const router = routerFor(plan, networks, node, arg!);
			if (typeof router === 'string') return router;
			return { arg };
		}
		case 'unfloat':
			return {};
		case 'route-add': {
			const route = parseRoute(arg!);
			if (typeof route === 'string') return route;
			return onLink(node, networks, route.via)
				? { route }
				: `gateway ${route.via} is on none of ${node.name}'s networks`;
		}
		case 'route-del': {
			if (arg === 'default') return { route: { to: 'default', via: '' } };
			const bad = subnetProblem(arg!);
			return bad
				? `${bad.message}${bad.hint ? ` — ${bad.hint}` : ''}`
				: { route: { to: parseCidr(arg!).text, via: '' } };
		}
		case 'link-down':
		case 'link-up':
			return node.interfaces.some((i) => i.network === arg) ? {} : `${node.name} has no interface on "${arg}"`;
		default:
			return node.services.some((s) => s.name === arg)
				? {}
				: `${node.name} runs no service "${arg}"; it runs ${node.services.map((s) => s.name).join(', ') || 'none'}`;
	}
}
