// A real node as probes see it: its network is reached over SSH. A TCP connection is opened *by the node*
// (SSH port forwarding, direct-tcpip: sshd connects from the node, so the packets really leave from it); a command
// runs in its shell. No raw socket, no UDP yet: the probes that need them say so.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import pLimit from 'p-limit';
import type { Client, ClientChannel } from 'ssh2';
import type { NodeNetwork } from '../../../probes/types.js';

/** A tool says why it could not connect in words (strerror): back to the errno a local connect would give. */
export function errnoOf(text: string): string | undefined {
	return /refused/i.test(text)
		? 'ECONNREFUSED'
		: /no route to host|host is unreachable/i.test(text)
			? 'EHOSTUNREACH'
			: /network is unreachable/i.test(text)
				? 'ENETUNREACH'
				: /timed out/i.test(text)
					? 'ETIMEDOUT'
					: undefined;
}

function channelError(error: Error): NodeJS.ErrnoException {
	const failed = error as NodeJS.ErrnoException;
	failed.code = errnoOf(error.message);
	return failed;
}

type Open = (opened: (error: Error | undefined, channel: ClientChannel) => void) => void;

/** The stream a connection opened for us runs over: an SSH channel, a `docker exec`'s hijacked connection. */
export interface Under {
	write(data: Buffer, done: (error?: Error | null) => void): unknown;
	resume(): unknown;
	end(): unknown;
}

/**
 * A TCP connection opened for us by someone else (sshd, a container's nc), as a socket: writes wait until it is open;
 * 'connect' when it is; what http, tls and ssh2 ask of a socket beyond a Duplex has nothing to tune.
 */
export abstract class PipedSocket extends Duplex {
	connecting = true;
	protected under?: Under;
	private pending: Array<[Buffer, (error?: Error | null) => void]> = [];

	/** The connection is open: what was written meanwhile goes out, and 'connect' is said. */
	protected opened(): void {
		this.connecting = false;
		for (const [data, done] of this.pending.splice(0)) this.under!.write(data, done);
		this.emit('connect');
	}
	/** Closes the stream underneath. */
	protected abstract shut(): void;

	override _read(): void {
		this.under?.resume();
	}
	override _write(data: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
		if (this.under && !this.connecting) this.under.write(data, done);
		else this.pending.push([data, done]);
	}
	override _final(done: () => void): void {
		this.under?.end();
		done();
	}
	override _destroy(error: Error | null, done: (error: Error | null) => void): void {
		this.shut();
		done(error);
	}
	setTimeout(): this {
		return this;
	}
	setNoDelay(): this {
		return this;
	}
	setKeepAlive(): this {
		return this;
	}
	ref(): this {
		return this;
	}
	unref(): this {
		return this;
	}
}

/**
 * A connection sshd opens for us — TCP from the node, or a Unix socket on it (a Docker engine's) — as a socket:
 * 'connect' once sshd connected, 'error' with the errno otherwise.
 */
export class Forwarded extends PipedSocket {
	private channel?: ClientChannel;

	constructor(open: Open) {
		super();
		open((error, channel) => {
			if (this.destroyed) return channel?.close();
			if (error) return this.destroy(channelError(error));
			this.channel = channel;
			this.under = channel;
			channel.on('data', (data: Buffer) => {
				if (!this.push(data)) channel.pause();
			});
			channel.on('end', () => this.push(null));
			channel.on('close', () => this.destroy());
			this.opened();
		});
	}

	protected shut(): void {
		this.channel?.close();
	}
}

// sshd refuses new sessions past MaxSessions (10) on one connection: commands on a node run at most this many at once.
const COMMANDS_AT_ONCE = 8;

export class RemoteNetwork implements NodeNetwork {
	private readonly held: Array<{ close(): void }> = [];
	private readonly limit = pLimit(COMMANDS_AT_ONCE);

	constructor(
		private readonly client: Client,
		readonly node: string,
	) {}

	within<T>(): T {
		throw new Error(`${this.node} is a real machine: labcheck cannot open raw sockets on it`);
	}

	connect(address: string, port: number): Socket {
		return new Forwarded((opened) =>
			this.client.forwardOut('127.0.0.1', 0, address, port, opened),
		) as unknown as Socket;
	}

	/** A Unix socket on the node, opened by its sshd (a Docker engine's, `ssh -L` style). */
	stream(path: string): Socket {
		return new Forwarded((opened) => this.client.openssh_forwardOutStreamLocal(path, opened)) as unknown as Socket;
	}

	udp(): never {
		throw new Error('UDP probes from a real machine are not supported yet (no UDP over SSH)');
	}

	hold(resource: { close(): void }): void {
		this.held.push(resource);
	}

	command(line: string, timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
		return this.limit(() => this.run(line, timeoutMs));
	}

	private run(line: string, timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
		return new Promise((resolve) => {
			this.client.exec(line, (error, stream) => {
				if (error) return resolve({ exitCode: null, output: `cannot run a command on ${this.node}: ${error.message}` });
				let output = '';
				const timer = setTimeout(() => stream.close(), timeoutMs);
				stream.on('data', (d: Buffer) => {
					output += d.toString();
				});
				stream.stderr.on('data', (d: Buffer) => {
					output += d.toString();
				});
				stream.on('close', (code: number | null) => {
					clearTimeout(timer);
					resolve({ exitCode: code, output });
				});
			});
		});
	}

	close(): void {
		for (const resource of this.held.splice(0)) resource.close();
	}
}
