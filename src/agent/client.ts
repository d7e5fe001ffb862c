// The parent side of the node agents: launches them in their namespaces and matches replies to requests.
// Agents connect back over a Unix socket, so one launcher process starts all of a lab's agents: every
// process spawned from a large Node process costs the parent tens of milliseconds.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../errors.js';
import type { ProbeContext, ProbeRequest, ProbeResult } from '../../probes/types.js';
import type { AgentReply, AgentRequest } from './protocol.js';

const AGENT = fileURLToPath(new URL('./main.js', import.meta.url));
const CONNECT_TIMEOUT_MS = 20_000;
let launches = 0;

type Pending = { resolve: (reply: AgentReply) => void; reject: (error: Error) => void };
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export class AgentClient {
	private socket?: Socket;
	private readonly pending = new Map<number, Pending>();
	private nextId = 1;
	private exited?: Error;
	private markReady!: () => void;
	private failReady!: (error: Error) => void;
	readonly ready: Promise<void>;

	private constructor(readonly node: string) {
		this.ready = new Promise((resolve, reject) => { this.markReady = resolve; this.failReady = reject; });
		this.ready.catch(() => {});
	}

	/**
	 * Starts one agent per entry — `enter` runs a program inside the node (see backends/netns/processes.ts) —
	 * with a single launcher; `lab` tags the processes for `clean`, `dir` holds the rendezvous socket.
	 */
	static launch(entries: Array<{ node: string; enter: string[] }>, lab: string, dir: string): Map<string, AgentClient> {
		const clients = new Map(entries.map((e) => [e.node, new AgentClient(e.node)]));
		if (entries.length === 0) return clients;
		const path = join(dir, `agents-${++launches}.sock`);
		let stderr = '';
		const server = createServer((socket) => {
			createInterface({ input: socket }).once('line', (hello) => {
				const client = clients.get((JSON.parse(hello) as { node: string }).node);
				client?.attach(socket);
				if ([...clients.values()].every((c) => c.socket)) server.close();
			});
		});
		const fail = (why: string) => {
			server.close();
			for (const c of clients.values()) if (!c.socket) c.failReady(new BackendError(`node "${c.node}": probe agent did not start: ${why}${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`));
		};
		const timer = setTimeout(() => fail(`no connection within ${CONNECT_TIMEOUT_MS} ms`), CONNECT_TIMEOUT_MS);
		server.on('close', () => clearTimeout(timer));
		server.listen(path, () => {
			const script = entries.map((e) => `${[...e.enter, process.execPath, AGENT, '--lab', lab, '--node', e.node, '--connect', path].map(quote).join(' ')} &`);
			const launcher = spawn('sh', ['-c', `${script.join('\n')}\nwait`], { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
			launcher.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
			launcher.on('exit', () => { if ([...clients.values()].some((c) => !c.socket)) fail('the launcher exited'); });
		});
		server.on('error', (error) => fail(error.message));
		return clients;
	}

	private attach(socket: Socket): void {
		this.socket = socket;
		createInterface({ input: socket }).on('line', (line) => {
			const reply = JSON.parse(line) as AgentReply;
			this.pending.get(reply.id)?.resolve(reply);
			this.pending.delete(reply.id);
		});
		socket.on('close', () => {
			this.exited = new BackendError(`node "${this.node}": probe agent went away`);
			for (const p of this.pending.values()) p.reject(this.exited);
			this.pending.clear();
		});
		socket.on('error', () => {});
		this.markReady();
	}

	private send(message: AgentRequest extends infer T ? T extends unknown ? Omit<T, 'id'> : never : never): Promise<AgentReply> {
		if (this.exited || !this.socket) return Promise.reject(this.exited ?? new BackendError(`node "${this.node}": probe agent not connected`));
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.socket!.write(`${JSON.stringify({ ...message, id })}\n`);
		});
	}

	async probe(request: ProbeRequest, context: ProbeContext): Promise<ProbeResult> {
		const reply = await this.send({ type: 'probe', request, context });
		if (reply.error) return { status: 'error', detail: `probe crashed: ${reply.error.split('\n')[0]}`, ms: 0 };
		return reply.result!;
	}

	async waitPort(port: number, timeoutMs: number): Promise<boolean> {
		return (await this.send({ type: 'wait-port', port, timeoutMs })).ok === true;
	}

	/** Ends the connection; the agent exits when it closes. */
	close(): void {
		this.socket?.destroy();
		this.failReady(new BackendError(`node "${this.node}": probe agent closed`));
	}
}
