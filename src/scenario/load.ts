// Reads a scenario file: YAML syntax, then the schema, then the plan's own checks — every problem with its position.
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { relative } from 'node:path';
import type * as z from 'zod';
import { ScenarioError, UsageError, type SourcePosition } from '../errors.js';
import { networkSchema, nodeSchema, probeOptionsSchema, scenarioSchema, type Scenario } from './schema.js';
import { Source, type Path } from './source.js';
import { closest, didYouMean } from './suggest.js';

export interface LoadedScenario {
	scenario: Scenario;
	source: Source;
}

/** A scenario is a page of YAML; anything far larger is a mistake (or an attack), refused before parsing. */
export const MAX_SCENARIO_BYTES = 1024 * 1024;

export async function loadScenario(file: string): Promise<LoadedScenario> {
	return parseScenario(shownPath(file), await readScenario(file));
}

/** A file as the user knows it: relative to here when it is below here. */
export function shownPath(file: string): string {
	const shown = relative(process.cwd(), file);
	return shown && !shown.startsWith('..') ? shown : file;
}

/** The file's text: a regular file of at most MAX_SCENARIO_BYTES, read without blocking on a FIFO or a device. */
export async function readScenario(file: string, what = 'scenario'): Promise<string> {
	const cannot = (reason: string, hint?: string) => new UsageError(`cannot read ${what} ${file}: ${reason}`, hint);
	// O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
	const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
		throw cannot(
			error.code === 'ENOENT'
				? 'no such file'
				: error.code === 'EISDIR'
					? 'it is a directory'
					: error.code === 'EACCES'
						? 'permission denied'
						: error.message,
		);
	});
	try {
		const info = await handle.stat();
		if (info.isDirectory()) throw cannot('it is a directory', 'name a .yaml file');
		if (!info.isFile())
			throw cannot('it is not a regular file (a FIFO, socket or device)', 'save the scenario to a file first');
		if (info.size > MAX_SCENARIO_BYTES)
			throw cannot(
				`it has ${info.size} bytes; a scenario may have at most ${MAX_SCENARIO_BYTES}`,
				'a lab of any size fits in far less: use `*` lines for all pairs',
			);
		const buffer = Buffer.alloc(Math.min(info.size, MAX_SCENARIO_BYTES) + 1);
		const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
		if (bytesRead > MAX_SCENARIO_BYTES) throw cannot(`it has more than ${MAX_SCENARIO_BYTES} bytes`);
		const text = buffer.subarray(0, bytesRead).toString('utf8');
		if (text.includes('\0')) throw cannot('it is a binary file, not YAML');
		return text;
	} finally {
		await handle.close();
	}
}

export function parseScenario(file: string, text: string): LoadedScenario {
	const { data, source } = parseYaml(file, text, scenarioSchema, knownKeys);
	return { scenario: data, source };
}

/**
 * YAML validated by `schema`, or a ScenarioError listing every problem with its position (`keys`: what an object at
 * a path accepts, for "did you mean").
 */
export function parseYaml<T>(
	file: string,
	text: string,
	schema: z.ZodType<T>,
	keys: (path: Path) => string[],
	what = 'scenario',
): { data: T; source: Source } {
	const source = Source.parse(file, text);
	const data: unknown = source.toJS() ?? {};
	const result = schema.safeParse(data);
	if (!result.success) {
		const problems = result.error.issues.map((issue) => describeIssue(source, data, issue, keys, what));
		// "`nodes` is missing" adds nothing when the same object has a key that is a typo of it.
		const typos = new Set(problems.flatMap((p) => (p.typoOf ? [p.typoOf] : [])));
		throw new ScenarioError(
			problems
				.filter((p) => !p.missing || !typos.has(p.missing))
				.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col),
		);
	}
	return { data: result.data, source };
}

type Problem = { at: SourcePosition; message: string; hint?: string; typoOf?: string; missing?: string };

/** The plain value at `path` of the data the schema saw (not the YAML nodes: those may hold what toJS refused). */
const valueAt = (data: unknown, path: Path): unknown =>
	path.reduce<unknown>(
		(v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined),
		data,
	);

function describeIssue(
	source: Source,
	data: unknown,
	issue: z.core.$ZodIssue,
	knownKeys: (path: Path) => string[],
	what: string,
): Problem {
	const path = issue.path as Path;
	const field = path.length > 0 ? `\`${path.join('.')}\`` : `the ${what}`;
	const got = valueAt(data, path);
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
			if (got === undefined)
				return { at: source.at(path.slice(0, -1)), message: `${field} is missing`, missing: path.join('.') };
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
