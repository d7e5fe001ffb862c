// What the stages of the plan share while a scenario becomes a plan (src/plan/build.ts runs them in order): the
// scenario, the problems found so far (reported together, in file order), the options, and the nodes and networks
// placed so far. Stages import this, never build.ts.
import { ScenarioError, type SourcePosition } from '../errors.js';
import type { Cidr } from '../net/ipv4.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { Path } from '../scenario/source.js';
import type { PlanNetwork, PlanNode } from './types.js';

export interface PlanOptions {
	allowExternal?: boolean;
	/** The plan is run on real machines (`--on`): probes go where the scenario says, names and URLs included. */
	real?: boolean;
}

export class Problems {
	readonly list: Array<{ at: SourcePosition; message: string; hint?: string }> = [];
	constructor(readonly loaded: LoadedScenario) {}
	add(path: Path, message: string, hint?: string, key = false): void {
		this.list.push({ at: this.loaded.source.at(path, key), message, hint });
	}
	throwIfAny(): void {
		// In file order, whichever part of the plan found them.
		if (this.list.length > 0)
			throw new ScenarioError([...this.list].sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col));
	}
}

export type Attach = (node: PlanNode, network: string, address: string | undefined, path: Path, from?: number) => void;

/** The topology stages' shared state: nodes and networks by name, and the two ways to add to them. */
export interface PlanContext {
	problems: Problems;
	nodes: Map<string, PlanNode>;
	networks: Map<string, PlanNetwork & { cidr: Cidr }>;
	/** A network labcheck adds (a NAT link, a Docker network). */
	addNetwork(name: string, subnet: string, role: string, gateway?: string): PlanNetwork;
	/** Puts `node` on `network`, at `address` or the next free one from host `from` on. */
	attach: Attach;
}
