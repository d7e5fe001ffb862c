// CalculatorService: POST an infix expression → "result = N\r\n", one HTTP call to an operation service per operator.
import { Agent, request } from 'node:http';
import { BadRequest, type ServiceHandler } from '../http.js';
import { OPERATIONS, type OperationName } from './operation.js';
import { evaluate, ParseError, parseExpression, type Operator } from './parser.js';

export type Peers = Record<OperationName, string>;

const BY_SYMBOL = Object.fromEntries(Object.entries(OPERATIONS).map(([name, op]) => [op.symbol, name])) as Record<
	Operator,
	OperationName
>;
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

function call(service: OperationName, peer: string, a: number, b: number, timeoutMs: number): Promise<number> {
	const [host, port] = [peer.slice(0, peer.lastIndexOf(':')), Number(peer.slice(peer.lastIndexOf(':') + 1))];
	const unreachable = (why: string) => new BadRequest(`${service} service ${peer} unreachable (${why})`, 502);
	return new Promise((resolve, reject) => {
		const req = request(
			{
				host,
				port,
				method: 'POST',
				path: '/',
				agent: keepAlive,
				timeout: timeoutMs,
				headers: { 'content-type': 'text/plain' },
			},
			(res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (c: string) => {
					body += c;
				});
				res.on('end', () => {
					if (res.statusCode === 200 && Number.isFinite(Number(body))) resolve(Number(body));
					else if (res.statusCode === 400) reject(new BadRequest(`${service} service: ${body.trim()}`));
					else
						reject(
							new BadRequest(`${service} service ${peer} answered ${res.statusCode}: ${body.trim().slice(0, 60)}`, 502),
						);
				});
			},
		);
		req.on('timeout', () => {
			req.destroy();
			reject(unreachable(`no answer within ${timeoutMs} ms`));
		});
		req.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(error.code ?? error.message)));
		req.end(`${a} ${b}`);
	});
}

export function calculatorService(
	peers: Peers,
	log: (line: string) => void = console.log,
	timeoutMs = 2000,
): ServiceHandler {
	return {
		name: 'calculator',
		async post(body) {
			const text = body.trim();
			let tree: ReturnType<typeof parseExpression>;
			try {
				tree = parseExpression(text);
			} catch (error) {
				if (error instanceof ParseError)
					throw new BadRequest(`cannot parse ${JSON.stringify(text.slice(0, 40))}: ${error.message}`);
				throw error;
			}
			const result = await evaluate(tree, (op, a, b) => call(BY_SYMBOL[op], peers[BY_SYMBOL[op]], a, b, timeoutMs));
			log(`${text} = ${result}`);
			return `result = ${result}\r\n`;
		},
	};
}
