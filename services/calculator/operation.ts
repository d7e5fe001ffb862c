// SumService, SubService, MulService, DivService: POST "A B" → the result as plain text.
import { BadRequest, type ServiceHandler } from '../http.js';

export const OPERATIONS = {
	sum: { symbol: '+', apply: (a: number, b: number) => a + b },
	sub: { symbol: '-', apply: (a: number, b: number) => a - b },
	mul: { symbol: '*', apply: (a: number, b: number) => a * b },
	div: { symbol: '/', apply: (a: number, b: number) => a / b },
} as const;
export type OperationName = keyof typeof OPERATIONS;

export function operationService(name: OperationName, log: (line: string) => void = console.log): ServiceHandler {
	const { symbol, apply } = OPERATIONS[name];
	return {
		name,
		async post(body) {
			const parts = body.trim().split(/\s+/);
			const [a, b] = parts.map(Number);
			if (parts.length !== 2 || !Number.isFinite(a) || !Number.isFinite(b)) {
				throw new BadRequest(`expected two numbers "A B", got ${JSON.stringify(body.trim().slice(0, 40))}`);
			}
			if (name === 'div' && b === 0) throw new BadRequest('division by zero');
			const result = apply(a, b);
			log(`New request :\nA = ${a}\nB = ${b}\nA ${symbol} B = ${result}`);
			return String(result);
		},
	};
}
