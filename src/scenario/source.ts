// Positions of YAML nodes, so every problem can be reported as file:line:col.
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ScenarioError, type SourcePosition } from '../errors.js';

export type Path = ReadonlyArray<string | number>;

export class Source {
	private constructor(readonly file: string, readonly doc: Document, private readonly lines: LineCounter) {}

	static parse(file: string, text: string): Source {
		const lines = new LineCounter();
		const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
		const source = new Source(file, doc, lines);
		if (doc.errors.length > 0) {
			throw new ScenarioError(doc.errors.map((e) => ({
				at: source.position(e.pos[0]),
				message: `YAML syntax: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
			})));
		}
		return source;
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
