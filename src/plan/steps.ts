// Steps: the changes a scenario makes one after another (commit, stop, start, remove, exec, build).
import { didYouMean } from '../scenario/suggest.js';
import type { Problems } from './build.js';
import { nodeByName, type Plan, type PlanAction, type PlanImage, type PlanStep } from './types.js';

const GRAMMAR: Array<[RegExp, PlanAction['verb']]> = [
	[/^commit\s+(\S+)\s+as\s+([a-z0-9][a-z0-9._/-]*(?::[\w.-]+)?)$/, 'commit'],
	[/^(?:stop)\s+(\S+)$/, 'stop'],
	[/^(?:start|run)\s+(\S+)$/, 'start'],
	[/^(?:remove|rm)\s+(\S+)$/, 'remove'],
	[/^exec\s+(\S+)\s+--\s+(.+)$/, 'exec'],
	[/^build\s+(\S+)$/, 'build'],
];

export function buildSteps(problems: Problems, plan: Plan): { steps: PlanStep[]; images: PlanImage[] } {
	const { scenario } = problems.loaded;
	const images = Object.entries(scenario.images ?? {}).map(([name, spec]) => ({ name, dockerfile: spec.dockerfile }));
	const steps = (scenario.steps ?? []).map((step, k) => ({
		name: step.name,
		actions: (step.do ?? []).flatMap((item, i) => {
			const text = typeof item === 'string' ? item : item.action;
			const path = typeof item === 'string' ? ['steps', k, 'do', i] : ['steps', k, 'do', i, 'action'];
			const action = parseAction(problems, plan, images, text.trim(), path);
			return action ? [{ ...action, expect: typeof item === 'string' ? 'ok' : item.expect, at: problems.loaded.source.at(path) } as PlanAction] : [];
		}),
	}));
	return { steps, images };
}

function parseAction(problems: Problems, plan: Plan, images: PlanImage[], text: string, path: Array<string | number>) {
	for (const [re, verb] of GRAMMAR) {
		const m = re.exec(text);
		if (!m) continue;
		const [, target, arg] = m;
		if (verb === 'build') {
			if (!images.some((i) => i.name === target)) {
				problems.add(path, `no image "${target}" to build`, didYouMean(target, images.map((i) => i.name)) ?? 'declare it under `images:` with a `dockerfile`');
				return undefined;
			}
			return { text, verb, target };
		}
		const node = nodeByName(plan, target);
		if (!node) {
			problems.add(path, `unknown node "${target}"`, didYouMean(target, plan.nodes.map((n) => n.name)));
			return undefined;
		}
		if (verb !== 'exec' && !node.container) {
			problems.add(path, `${verb} works on containers; "${target}" is a ${node.kind}`);
			return undefined;
		}
		return { text, verb, target, arg };
	}
	problems.add(path, `cannot read action "${text}"`, 'actions: commit CT as IMAGE, stop CT, start CT, remove CT, exec NODE -- COMMAND, build IMAGE');
	return undefined;
}
