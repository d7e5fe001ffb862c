// The parent side of a node's agent: spawns it in the namespace and matches replies to requests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BackendError } from '../errors.js';
import type { ProbeContext, ProbeRequest, ProbeResult } from '../../probes/types.js';
import type { AgentReply, AgentRequest } from './protocol.js';

const AGENT = fileURLToPath(new URL('./main.js', import.meta.url));

type Pending = { resolve: (reply: AgentReply) => void; reject: (error: Error) => void };

export class AgentClient {
	private readonly child: ChildProcess;
	private readonly pending = new Map<number, Pending>();
	private nextId = 1;
	private exited?: Error;
	readonly ready: Promise<void>;

	/** `enter` runs a program inside the node (see backends/netns/processes.ts); `lab` tags the process for `clean`. */
	constructor(readonly node: string, enter: string[], lab: string) {
		this.child = spawn(enter[0], [...enter.slice(1), process.execPath, AGENT, '--lab', lab], { stdio: ['pipe', 'pipe', 'pipe'] });
		let stderr = '';
		this.child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
		this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve: () => resolve(), reject }));
		createInterface({ input: this.child.stdout! }).on('line', (line) => {
			const reply = JSON.parse(line) as AgentReply;
			this.pending.get(reply.id)?.resolve(reply);
			this.pending.delete(reply.id);
		});
		this.child.on('exit', (code) => {
			this.exited = new BackendError(`node "${node}": probe agent exited (${code})${stderr ? `: ${stderr.trim()}` : ''}`);
			for (const p of this.pending.values()) p.reject(this.exited);
			this.pending.clear();
		});
	}

	private send(message: AgentRequest extends infer T ? T extends unknown ? Omit<T, 'id'> : never : never): Promise<AgentReply> {
		if (this.exited) return Promise.reject(this.exited);
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			this.pending.set(id, { resolve, reject });
			this.child.stdin!.write(`${JSON.stringify({ ...message, id })}\n`);
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

	close(): void {
		this.child.stdin!.end();
		this.child.kill('SIGKILL');
	}
}
