import test from 'ava';
import type { Server, AddressInfo } from 'node:net';
import { evaluate, parseExpression, ParseError } from '../services/calculator/parser.js';
import { startService } from '../services/index.js';

const local = (a: number, b: number, op: string) => ({ '+': a + b, '-': a - b, '*': a * b, '/': a / b })[op]!;
const calc = (text: string) => evaluate(parseExpression(text), async (op, a, b) => local(a, b, op));

test('precedence, parentheses, left associativity, whitespace and real division', async (t) => {
	t.is(await calc('(5+6)*2'), 22);
	t.is(await calc('5+6*2'), 17);
	t.is(await calc('12 - 3 - 4'), 5);
	t.is(await calc('100 / 10 / 5'), 2);
	t.is(await calc('  7 /2 '), 3.5);
	t.is(await calc('((1+2)*(3+4))-(10/5)'), 19);
	t.is(await calc('-3+5'), 2);
});

test('bad expressions are refused with a reason, never evaluated', (t) => {
	for (const [text, reason] of [
		['', 'empty expression'],
		['5+', 'expected a number or "(" but found end of input'],
		['(5+6', 'expected ")" but found end of input'],
		['5+6)', 'unexpected ")" at position 4'],
		['process.exit()', 'unexpected "p" at position 1'],
		['2 3', 'unexpected "3" at position 3'],
	]) {
		t.is(t.throws(() => parseExpression(text), { instanceOf: ParseError })!.message, reason, text);
	}
});

// The five services on loopback, the calculator calling the others over real HTTP.
const servers: Server[] = [];
const port = (s: Server) => (s.address() as AddressInfo).port;
let calculatorPort = 0;
let subPort = 0;
const logs: string[] = [];

test.before(async () => {
	const peers: Record<string, string> = {};
	for (const op of ['sum', 'sub', 'mul', 'div'] as const) {
		const server = await startService(op, { port: 0, host: '127.0.0.1', log: (l) => logs.push(l) });
		servers.push(server);
		peers[op] = `127.0.0.1:${port(server)}`;
	}
	subPort = port(servers[1]);
	const calculator = await startService('calculator', { port: 0, host: '127.0.0.1', peers, log: (l) => logs.push(l) });
	servers.push(calculator);
	calculatorPort = port(calculator);
});
test.after.always(() => {
	for (const s of servers) s.close();
});

const post = (p: number, body: string) => fetch(`http://127.0.0.1:${p}/`, { method: 'POST', body });

test('the calculator answers the course contract: result = 22', async (t) => {
	const res = await post(calculatorPort, '(5+6)*2');
	t.is(res.status, 200);
	t.regex(res.headers.get('content-type')!, /^text\/plain/);
	t.is(await res.text(), 'result = 22\r\n');
	t.true(logs.includes('(5+6)*2 = 22'));
	t.is(res.headers.get('x-labcheck-peer'), '127.0.0.1');
});

test('an operation service takes "A B" and logs like the original', async (t) => {
	const res = await post(subPort, '12 3');
	t.is(await res.text(), '9');
	t.true(logs.join('\n').includes('New request :\nA = 12\nB = 3\nA - B = 9'));
});

test('bad input gets a 4xx and a one-line reason', async (t) => {
	const bad = await post(calculatorPort, '(5+6');
	t.is(bad.status, 400);
	t.is(await bad.text(), 'cannot parse "(5+6": expected ")" but found end of input\n');
	const zero = await post(calculatorPort, '1/0');
	t.is(zero.status, 400);
	t.is(await zero.text(), 'div service: division by zero\n');
	const words = await post(subPort, 'twelve 3');
	t.is(words.status, 400);
	t.is((await fetch(`http://127.0.0.1:${calculatorPort}/health`)).status, 200);
});

test('an unreachable peer is a 502 naming it, not a hang', async (t) => {
	const calculator = await startService('calculator', {
		port: 0,
		host: '127.0.0.1',
		log: () => {},
		peers: { sum: '127.0.0.1:1', sub: '127.0.0.1:1', mul: '127.0.0.1:1', div: '127.0.0.1:1' },
	});
	servers.push(calculator);
	const res = await post(port(calculator), '1+1');
	t.is(res.status, 502);
	t.is(await res.text(), 'sum service 127.0.0.1:1 unreachable (ECONNREFUSED)\n');
});

// Hostile clients: every limit answers with a 4xx naming it, and nothing a request sends can exhaust the service.
test('deep nesting and endless sums are refused by name, not by a stack overflow', async (t) => {
	const deep = await post(calculatorPort, `${'('.repeat(5000)}1${')'.repeat(5000)}`);
	t.is(deep.status, 400);
	t.regex(await deep.text(), /nested too deep: at most 100 levels/);
	const signs = await post(calculatorPort, `${'-'.repeat(3000)}1`);
	t.is(signs.status, 400);
	const long = await post(calculatorPort, Array(20_000).fill('1').join('+'));
	t.is(long.status, 400);
	t.regex(await long.text(), /too many operators \(19999\): at most 1000/);
	t.is(await (await post(calculatorPort, `${'('.repeat(50)}5+6${')'.repeat(50)}*2`)).text(), 'result = 22\r\n');
});

test('a body over the limit is refused as soon as it passes it, and the rest is not read', async (t) => {
	const announced = await fetch(`http://127.0.0.1:${calculatorPort}/`, {
		method: 'POST',
		body: 'x'.repeat(200 * 1024),
	});
	t.is(announced.status, 413);
	t.regex(await announced.text(), /at most 65536 bytes/);
	// Streamed without a length: the answer comes while most of the 100 MB was never sent.
	const { connect } = await import('node:net');
	const socket = connect(calculatorPort, '127.0.0.1');
	await new Promise((r) => socket.once('connect', r));
	let answer = '';
	socket.on('data', (d) => {
		answer += d;
	});
	const closed = new Promise((r) => socket.once('close', r));
	socket.on('error', () => {});
	socket.write('POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
	let sent = 0;
	const chunk = `${(64 * 1024).toString(16)}\r\n${'1'.repeat(64 * 1024)}\r\n`;
	while (sent < 100 * 1024 * 1024 && !socket.destroyed && !answer) {
		if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
		sent += 64 * 1024;
	}
	await closed;
	t.regex(answer, /^HTTP\/1.1 413/);
	t.true(sent < 100 * 1024 * 1024, `stopped reading after ${sent} bytes`);
});

test('only / and /health exist: any other path is 404, whatever the method', async (t) => {
	for (const [method, path] of [
		['POST', '/nope'],
		['POST', '/../../etc/passwd'],
		['GET', '/nope'],
		['DELETE', '/x'],
	]) {
		const res = await fetch(`http://127.0.0.1:${calculatorPort}${path}`, {
			method,
			body: method === 'POST' ? '1+1' : undefined,
		});
		t.is(res.status, 404, `${method} ${path}`);
	}
	t.is((await fetch(`http://127.0.0.1:${calculatorPort}/health`, { method: 'POST', body: '1' })).status, 405);
	t.is((await fetch(`http://127.0.0.1:${calculatorPort}/`, { method: 'PUT', body: '1' })).status, 405);
});

test('a client that sends its headers a byte at a time is dropped once header time runs out', async (t) => {
	const { connect } = await import('node:net');
	const socket = connect(calculatorPort, '127.0.0.1');
	socket.on('error', () => {});
	const closed = new Promise<void>((r) => socket.once('close', () => r()));
	let open = true;
	void closed.then(() => {
		open = false;
	});
	const text = 'POST / HTTP/1.1\r\nx-slow: ';
	for (let i = 0; open && i < 60; i++) {
		socket.write(text[i] ?? 'a');
		await new Promise((r) => setTimeout(r, 250));
	}
	t.false(open, 'the service closed the connection of a client that never finished its headers');
	socket.destroy();
});
