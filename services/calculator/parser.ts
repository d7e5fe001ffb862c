// Infix expressions over integers: + - * / and parentheses, normal precedence, left-associative.
// Parsed into a tree, never evaluated with eval.

export type Operator = '+' | '-' | '*' | '/';
export type Expr = { kind: 'number'; value: number } | { kind: 'binary'; op: Operator; left: Expr; right: Expr };

export class ParseError extends Error {}

/** Bounds an expression must keep: each operator is one HTTP call, and nesting is recursion. */
export const EXPRESSION_LIMITS = { operators: 1000, depth: 100 };

type Token = { type: 'number'; value: number; at: number } | { type: 'op' | 'paren'; value: string; at: number };

function tokenize(text: string): Token[] {
	const tokens: Token[] = [];
	const re = /\s*(?:(\d+(?:\.\d+)?)|([-+*/])|([()])|(\S))/gy;
	while (re.lastIndex < text.length) {
		const m = re.exec(text);
		if (!m) break;
		const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').length;
		if (m[1]) tokens.push({ type: 'number', value: Number(m[1]), at });
		else if (m[2]) tokens.push({ type: 'op', value: m[2], at });
		else if (m[3]) tokens.push({ type: 'paren', value: m[3], at });
		else if (m[4]) throw new ParseError(`unexpected "${m[4]}" at position ${at + 1}`);
	}
	return tokens;
}

export function parseExpression(text: string): Expr {
	const tokens = tokenize(text);
	const operators = tokens.filter((t) => t.type === 'op').length;
	if (operators > EXPRESSION_LIMITS.operators)
		throw new ParseError(
			`too many operators (${operators}): at most ${EXPRESSION_LIMITS.operators}, one service call each`,
		);
	let pos = 0;
	let depth = 0;
	const nested = <T>(fn: () => T): T => {
		if (++depth > EXPRESSION_LIMITS.depth)
			throw new ParseError(`nested too deep: at most ${EXPRESSION_LIMITS.depth} levels of parentheses or signs`);
		try {
			return fn();
		} finally {
			depth--;
		}
	};
	const peek = () => tokens[pos];
	const describe = (t: Token | undefined) => (t ? `"${t.value}" at position ${t.at + 1}` : 'end of input');

	const primary = (): Expr => {
		const t = tokens[pos++];
		if (t?.type === 'number') return { kind: 'number', value: t.value };
		if (t?.type === 'op' && t.value === '-')
			return { kind: 'binary', op: '-', left: { kind: 'number', value: 0 }, right: nested(primary) };
		if (t?.type === 'paren' && t.value === '(') {
			const inner = nested(sum);
			const close = tokens[pos++];
			if (close?.type !== 'paren' || close.value !== ')')
				throw new ParseError(`expected ")" but found ${describe(close)}`);
			return inner;
		}
		throw new ParseError(`expected a number or "(" but found ${describe(t)}`);
	};
	// One precedence level: operands from `next`, joined left to right by the operators `ops`.
	const level = (next: () => Expr, ops: string[]) => (): Expr => {
		let left = next();
		while (peek()?.type === 'op' && ops.includes(peek().value as string)) {
			const op = tokens[pos++].value as Operator;
			left = { kind: 'binary', op, left, right: next() };
		}
		return left;
	};
	const product = level(primary, ['*', '/']);
	const sum: () => Expr = level(product, ['+', '-']);

	if (tokens.length === 0) throw new ParseError('empty expression');
	const tree = sum();
	if (pos < tokens.length) throw new ParseError(`unexpected ${describe(tokens[pos])}`);
	return tree;
}

/** Evaluates the tree, one `apply` call per operator, left operand first. */
export async function evaluate(
	expr: Expr,
	apply: (op: Operator, a: number, b: number) => Promise<number>,
): Promise<number> {
	if (expr.kind === 'number') return expr.value;
	const a = await evaluate(expr.left, apply);
	const b = await evaluate(expr.right, apply);
	return apply(expr.op, a, b);
}
