// Reads a scenario file: YAML syntax, then the schema, then the plan's own checks — every problem with its position.
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type * as z from 'zod';
import { ScenarioError, UsageError, type SourcePosition } from '../errors.js';
import { networkSchema, nodeSchema, probeOptionsSchema, scenarioSchema, type Scenario } from './schema.js';
import { Source, type Path } from './source.js';
import { closest, didYouMean } from './suggest.js';

export interface LoadedScenario { scenario: Scenario; source: Source }

export async function loadScenario(file: string): Promise<LoadedScenario> {
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
		throw new UsageError(`cannot read scenario ${file}: ${reason}`);
	}
	const shown = relative(process.cwd(), file);
	return parseScenario(shown && !shown.startsWith('..') ? shown : file, text);
}

export function parseScenario(file: string, text: string): LoadedScenario {
	const source = Source.parse(file, text);
	const data: unknown = source.doc.toJS() ?? {};
	const result = scenarioSchema.safeParse(data);
	if (!result.success) {
		const problems = result.error.issues.map((issue) => describeIssue(source, issue));
		// "`nodes` is missing" adds nothing when the same object has a key that is a typo of it.
		const typos = new Set(problems.flatMap((p) => p.typoOf ? [p.typoOf] : []));
		throw new ScenarioError(problems.filter((p) => !p.missing || !typos.has(p.missing))
			.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col));
	}
	return { scenario: result.data, source };
}

type Problem = { at: SourcePosition; message: string; hint?: string; typoOf?: string; missing?: string };

function describeIssue(source: Source, issue: z.core.$ZodIssue): Problem {
	const path = issue.path as Path;
	const field = path.length > 0 ? `\`${path.join('.')}\`` : 'the scenario';
	const got = source.value(path);
	const shown = got === undefined ? 'nothing' : `\`${typeof got === 'object' ? JSON.stringify(got) : String(got)}\``;
	switch (issue.code) {
		case 'unrecognized_keys': {
			const [key] = issue.keys;
			const known = knownKeys(path);
			const typoOf = closest(key, known);
			return {
				at: source.at([...path, key], true),
				message: `unknown key "${key}" in ${field}`,
				hint: typoOf ? `did you mean "${typoOf}"?` : `known keys: ${known.join(', ')}`,
				typoOf: typoOf && [...path, typoOf].join('.'),
			};
		}
		case 'invalid_value': {
			const values = issue.values.map(String);
			return {
				at: source.at(path),
				message: `${field} is ${shown}; expected one of ${values.join(', ')}`,
				hint: typeof got === 'string' ? didYouMean(got, values) : undefined,
			};
		}
		case 'invalid_type':
			if (got === undefined) return { at: source.at(path.slice(0, -1)), message: `${field} is missing`, missing: path.join('.') };
			return { at: source.at(path), message: `${field} is ${shown}; expected ${issue.expected}` };
		default:
			return { at: source.at(path), message: `${field} is ${shown}: ${issue.message}` };
	}
}

/** The keys an object at `path` accepts, for "did you mean" on unknown keys. */
function knownKeys(path: Path): string[] {
	const [top, , third] = path;
	if (path.length === 0) return Object.keys(scenarioSchema.shape);
	if (top === 'nodes' && path.length === 2) return Object.keys(nodeSchema.shape);
	if (top === 'networks' && path.length === 2) return Object.keys(networkSchema.shape);
	if (top === 'nodes' && third === 'nat') return ['via', 'subnet'];
	if (top === 'nodes' && third === 'forward') return ['host', 'guest', 'proto'];
	if (top === 'nodes' && third === 'services') return ['name', 'port'];
	if (top === 'expect') return Object.keys(probeOptionsSchema.shape);
	return [];
}
