// What a step's action does to the plan: the lab as it should be afterwards. Pure; the backend then
// makes the running lab match, and explanations read the lab as it is at that point.
import { routerFor } from './cloud.js';
import { nodeByName, type Plan, type PlanAction, type SecurityRule } from './types.js';

const sameRule = (a: SecurityRule, b: SecurityRule) =>
	a.proto === b.proto && a.from === b.from && String(a.ports) === String(b.ports);

/** The plan as it stands after each step: index 0 is the lab as built. */
export function planAt(plan: Plan): Plan[] {
	const states = [plan];
	for (const step of plan.steps)
		states.push(step.actions.filter((a) => a.expect === 'ok').reduce(applyAction, states.at(-1)!));
	return states;
}

export function applyAction(plan: Plan, action: PlanAction): Plan {
	const next = structuredClone(plan);
	const node = nodeByName(next, action.target)!;
	switch (action.verb) {
		case 'allow':
			node.security = [...(node.security ?? []).filter((r) => !sameRule(r, action.rule!)), action.rule!];
			break;
		case 'revoke':
			node.security = (node.security ?? []).filter((r) => !sameRule(r, action.rule!));
			break;
		case 'float': {
			const router = routerFor(next, new Map(next.networks.map((n) => [n.name, n])), node, action.arg!);
			if (typeof router !== 'string') {
				const privateAddress = node.interfaces.find((i) =>
					router.interfaces.some((r) => r.network === i.network),
				)!.address;
				router.floating = [
					...router.floating.filter((f) => f.node !== node.name),
					{ address: action.arg!, node: node.name, privateAddress },
				];
			}
			break;
		}
		case 'unfloat':
			for (const router of next.nodes) router.floating = router.floating.filter((f) => f.node !== node.name);
			break;
		case 'route-add':
			node.routes = [...node.routes.filter((r) => r.to !== action.route!.to), action.route!];
			break;
		case 'route-del':
			node.routes = node.routes.filter((r) => r.to !== action.route!.to);
			break;
		case 'link-down':
		case 'link-up':
			for (const iface of node.interfaces) if (iface.network === action.arg) iface.down = action.verb === 'link-down';
			break;
		case 'stop':
		case 'remove':
		case 'start':
			if (node.container) node.container.running = action.verb === 'start';
			break;
		case 'service-stop':
		case 'service-start':
			for (const s of node.services) if (s.name === action.arg) s.stopped = action.verb === 'service-stop';
			break;
		default:
			break;
	}
	return next;
}
