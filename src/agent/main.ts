// The agent: runs inside one node's namespace, so every socket it opens belongs to that node.
// It talks JSON lines with labcheck over a Unix socket (--connect) or over stdin/stdout.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { probes } from '../../probes/index.js';
import type { ProbeName } from '../../probes/catalog.js';
import type { AgentReply, AgentRequest } from './protocol.js';

const { values } = parseArgs({ options: { lab: { type: 'string' }, node: { type: 'string' }, connect: { type: 'string' } } });
const channel = values.connect ? connect(values.connect) : undefined;
const input = channel ?? process.stdin;
const write = (line: string) => (channel ? channel.write(line) : process.stdout.write(line));
const reply = (message: AgentReply) => write(`${JSON.stringify(message)}\n`);

const portOpen = (port: number) => new Promise<boolean>((resolve) => {
	const socket = connect({ host: '127.0.0.1', port });
	socket.once('connect', () => { socket.destroy(); resolve(true); });
	socket.once('error', () => resolve(false));
});

async function waitPort(port: number, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await portOpen(port)) return true;
		await new Promise((r) => setTimeout(r, 10));
	}
	return false;
}

async function handle(message: AgentRequest): Promise<void> {
	try {
		if (message.type === 'wait-port') {
			reply({ id: message.id, ok: await waitPort(message.port, message.timeoutMs) });
		} else {
			const probe = probes[message.request.probe as ProbeName];
			reply({ id: message.id, result: await probe.run(message.request, message.context) });
		}
	} catch (error) {
		reply({ id: message.id, error: (error as Error).stack ?? String(error) });
	}
}

channel?.on('error', () => process.exit(0));
createInterface({ input }).on('line', (line) => {
	if (line.trim()) void handle(JSON.parse(line) as AgentRequest);
}).on('close', () => process.exit(0));
write(`${JSON.stringify({ node: values.node, id: 0, ok: true })}\n`);
