// Positions of YAML nodes, so every problem can be reported as file:line:col.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { ScenarioError, type SourcePosition } from '../errors.js';

export type Path = ReadonlyArray<string | number>;

/** Nesting of [ ] and { } a file may have before it is parsed (the parser recurses per level). */
export const MAX_FLOW_DEPTH = 64;

/**
 * The offset where flow collections nest deeper than MAX_FLOW_DEPTH, outside quotes and comments; undefined if they
 * never do.
 */
function flowDepthExceeded(text: string): number | undefined {
	let depth = 0;
	let quote = '';
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (quote) {
			if (c === '\\' && quote === '"') i++;
			else if (c === quote) quote = '';
		} else if (c === '"' || (c === "'" && /[\s[{,:]/.test(text[i - 1] ?? ' '))) quote = c;
		else if (c === '#' && /\s/.test(text[i - 1] ?? '\n')) {
			while (i < text.length && text[i] !== '\n') i++;
		} else if (c === '[' || c === '{') {
			if (++depth > MAX_FLOW_DEPTH) return i;
		} else if ((c === ']' || c === '}') && depth > 0) depth--;
	}
	return undefined;
}

/** Aliases a file may resolve: enough for any lab, far too few for an alias bomb. */
export const MAX_ALIAS_COUNT = 1000;

// With `merge: true` the parser gives `<<` keys a symbol value; `source` keeps the text.
const isMergeKey = (key: unknown) =>
	isScalar(key) && (key.value === '<<' || (key as { source?: string }).source === '<<');

export class Source {
	private constructor(
		readonly file: string,
		readonly doc: Document,
		private readonly lines: LineCounter,
	) {}

	static parse(file: string, text: string): Source {
		const deep = flowDepthExceeded(text);
		if (deep !== undefined) {
			const before = text.slice(0, deep).split('\n');
			throw new ScenarioError([
				{
					at: { file, line: before.length, col: before.at(-1)!.length + 1 },
					message: `YAML nested more than ${MAX_FLOW_DEPTH} levels deep`,
					hint: 'a scenario needs a few levels; write the structure out',
				},
			]);
		}
		const lines = new LineCounter();
		// Duplicate keys are found below in one pass: the parser's own check is quadratic in a map's size.
		const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, merge: true });
		const source = new Source(file, doc, lines);
		const problems = doc.errors.map((e) => ({
			at: source.position(e.pos[0]),
			message: `YAML syntax: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
		}));
		if (problems.length === 0) problems.push(...source.duplicateKeys());
		if (problems.length > 0) throw new ScenarioError(problems);
		return source;
	}

	private duplicateKeys(): Array<{ at: SourcePosition; message: string; hint: string }> {
		const found: Array<{ at: SourcePosition; message: string; hint: string }> = [];
		visit(this.doc, {
			Map: (_key, map) => {
				const seen = new Set<unknown>();
				for (const pair of map.items) {
					if (isMergeKey(pair.key)) continue;
					// A list, a map or a tagged value (!!binary, a timestamp) cannot name anything.
					if (
						isMap(pair.key) ||
						isSeq(pair.key) ||
						(isScalar(pair.key) && typeof pair.key.value === 'object' && pair.key.value !== null)
					) {
						found.push({
							at: this.position((pair.key as Node).range?.[0] ?? 0),
							message: 'YAML: a key must be a plain name, not a list, a map or a tagged value',
							hint: 'quote it, or write the key on its own',
						});
						continue;
					}
					const key = isScalar(pair.key) ? pair.key.value : pair.key;
					if (seen.has(key)) {
						found.push({
							at: this.position((pair.key as Node).range?.[0] ?? 0),
							message: `YAML syntax: Map keys must be unique ("${String(key)}" twice)`,
							hint: 'remove or rename one of them',
						});
					}
					seen.add(key);
				}
			},
		});
		return found.slice(0, 1);
	}

	/** The document as plain data; an alias bomb or a merge of something other than a map is a positioned problem. */
	toJS(): unknown {
		try {
			const data: unknown = this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
			if (circular(data))
				throw new ScenarioError([
					{
						at: this.firstAlias(),
						message: 'YAML: an alias refers to a node that contains it (a loop)',
						hint: 'an alias may only repeat a node defined outside itself',
					},
				]);
			return data;
		} catch (error) {
			if (error instanceof ScenarioError) throw error;
			const message = (error as Error).message;
			if (/alias count/i.test(message)) {
				throw new ScenarioError([
					{
						at: this.firstAlias(),
						message: `YAML aliases expand to too much (more than ${MAX_ALIAS_COUNT} resolutions: an alias bomb?)`,
						hint: 'write the repeated parts out, or use fewer nested aliases',
					},
				]);
			}
			if (/merge/i.test(message)) {
				throw new ScenarioError([
					{
						at: this.badMerge(),
						message: 'YAML merge key `<<` takes a map or an alias of a map, not a list or a scalar',
						hint: 'merge one map per `<<`, e.g. `<<: *defaults`',
					},
				]);
			}
			throw new ScenarioError([{ at: this.position(0), message: `YAML: ${message.split('\n')[0]}` }]);
		}
	}

	private firstAlias(): SourcePosition {
		let offset = 0;
		visit(this.doc, {
			Alias: (_key, node) => {
				offset = node.range?.[0] ?? 0;
				return visit.BREAK;
			},
		});
		return this.position(offset);
	}

	private badMerge(): SourcePosition {
		let offset = 0;
		visit(this.doc, {
			Pair: (_key, pair) => {
				if (!isMergeKey(pair.key)) return undefined;
				const value = isAlias(pair.value) ? pair.value.resolve(this.doc) : pair.value;
				const ok =
					isMap(value) || (isSeq(value) && value.items.every((i) => isMap(isAlias(i) ? i.resolve(this.doc) : i)));
				if (ok) return undefined;
				offset = (pair.value as Node | null)?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
				return visit.BREAK;
			},
		});
		return this.position(offset);
	}

	position(offset: number): SourcePosition {
		const { line, col } = this.lines.linePos(offset);
		return { file: this.file, line, col };
	}

	/** Where the value at `path` starts; with `key`, where its key starts. Falls back to the deepest parent found. */
	at(path: Path, key = false): SourcePosition {
		let node: Node | null | undefined = this.doc.contents as Node | null;
		let offset = node?.range?.[0] ?? 0;
		for (const [i, segment] of path.entries()) {
			if (isMap(node)) {
				const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === segment);
				if (!pair) break;
				const keyNode = pair.key as Node;
				if (key && i === path.length - 1) return this.position(keyNode.range?.[0] ?? offset);
				node = pair.value as Node | null;
				offset = node?.range?.[0] ?? keyNode.range?.[0] ?? offset;
			} else if (isSeq(node) && typeof segment === 'number') {
				node = node.items[segment] as Node | undefined;
				offset = node?.range?.[0] ?? offset;
			} else break;
		}
		return this.position(offset);
	}

	value(path: Path): unknown {
		return this.doc.getIn(path as Array<string | number>);
	}
}

/** Whether plain data refers to one of its own ancestors (a recursive YAML alias). */
function circular(value: unknown, ancestors = new Set<object>()): boolean {
	if (value === null || typeof value !== 'object') return false;
	if (ancestors.has(value)) return true;
	ancestors.add(value);
	const found = Object.values(value).some((child) => circular(child, ancestors));
	ancestors.delete(value);
	return found;
}
