// Predictions: what each check should measure, derived from the plan alone, with the path that says why.
import type { Outcome, Plan, PlanCheck } from '../plan/types.js';
import { probeOf } from '../../probes/index.js';
import { isIPv4 } from '../net/ipv4.js';
import { lookup, node, upInterfaces, viewOf } from './network.js';
import { simulate, type Trace } from './simulate.js';

export interface Prediction {
	outcome: Outcome;
	status: Trace['status'];
	path: string;
	/** Why the packet or its reply died, where the model says it does. */
	stop?: string;
	/** The rule that dropped it, and what would change the outcome (the rule's hint). */
	rule?: string;
	hint?: string;
	cause?: string;
	/** What rewrote the request on its way: port forwards, published ports, SNAT, floating IPs. */
	rewrites: string[];
	/** The node the request reaches (a port forward's guest, a published port's container). */
	reached?: string;
	seenFrom?: string;
}

/** What `check` should measure in the lab `plan` describes (the plan of its step: `planAt(plan)[check.step]`). */
export function predict(plan: Plan, check: PlanCheck): Prediction | undefined {
	const v = viewOf(plan);
	const packet = probeOf(check.probe)?.packet;
	// No packet to follow (exec), or a name only the source node resolves (a real lab's URL).
	if (!packet || !isIPv4(check.to.address)) return undefined;
	const from = node(v, check.from);
	if (v.absent.has(from.name))
		return {
			outcome: 'unreachable',
			status: 'filtered',
			path: `${from.name} is not running`,
			stop: `${from.name} is not running at this step, so it sends nothing`,
			rewrites: [],
		};
	const dst = check.to.address;
	const own = from.interfaces.find((i) => i.address === dst); // its own address, even on a link that is down
	const route = lookup(v, from, dst, from.nat.length > 0);
	const src = own?.address ?? route?.iface.address ?? upInterfaces(v, from)[0]?.address ?? '0.0.0.0';
	const result = simulate(v, from.name, {
		src,
		dst,
		proto: packet.proto,
		dport: check.to.port,
		app: packet.app,
	});
	const path = result.hops.length
		? result.hops.map((h) => `${h.node}: ${h.note}`).join(' ▸ ')
		: `${check.from}: delivered to itself`;
	return {
		outcome: result.status === 'ok' ? 'reachable' : 'unreachable',
		status: result.status,
		path,
		stop: result.stop?.why,
		rule: result.stop?.rule,
		hint: result.stop?.hint,
		cause: result.stop?.cause,
		rewrites: result.rewrites,
		reached: result.reached,
		seenFrom: result.seenFrom,
	};
}

/** The path, and where and why it ends when it does not get through: "a ▸ b ✗ reason". */
export const pathOf = (p: Prediction) => `${p.path}${p.stop ? ` ✗ ${reasonOf(p)}` : ''}`;

/** The model's reason: the cause (an address hidden behind a NAT), where the packet died, what would change it. */
export function reasonOf(p: Prediction): string | undefined {
	return p.stop && [p.cause, p.stop, p.hint].filter(Boolean).join('; ');
}
