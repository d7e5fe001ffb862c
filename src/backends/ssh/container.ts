// A container on a real Docker engine, as probes see it: every probe runs *inside* the container's network, with the
// container's own tools, through `docker exec` — ping by its `ping`, a command by its `sh`, a TCP connection by its
// busybox `nc -e` or bash's /dev/tcp (piped through the exec's stdin and stdout). Nothing is copied into the
// container; each exec ends with its connection (a connect that hangs is bounded by the probe's timeout).
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import pLimit from 'p-limit';
import type { NodeNetwork } from '../../../probes/types.js';
import { execIn } from '../docker-exec.js';
import { errnoOf, PipedSocket } from './remote.js';

/** What the script inside the container prints on its stderr once the connection is open. */
const CONNECTED = 'LC:connected';
const NO_TOOL = 'LC:no-tool';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The shell script that opens address:port from inside the container and pipes it to the exec's stdin/stdout: busybox
 * nc runs a program once connected (-e), which says so and pipes; bash opens /dev/tcp under a watchdog.
 */
export function connectScript(address: string, port: number, timeoutMs: number): string {
	const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
	// Two copies on the socket (fd 5): to our stdout in the background, from our stdin in front; when we close our side
	// (the probe is done) the second ends, ends the first and reaps it — nothing stays in the container. dd, not cat:
	// busybox cat copies a socket with sendfile, which holds what it read until its buffer fills. (A background job's
	// fd 0 is /dev/null: nc's socket is moved to 5 first.)
	const copy = 'dd bs=65536 2>/dev/null';
	const pipe = `echo ${CONNECTED} >&2; ${copy} <&5 >&4 & r=$!; ${copy} <&3 >&5; kill $r 2>/dev/null; wait $r`;
	const watchdog = `(trap 'kill $s; exit' TERM; sleep ${seconds} & s=$!; wait $s; echo "timed out" >&2; kill $$)`;
	const bash = `${watchdog} & w=$!; exec 5<>/dev/tcp/${address}/${port} || { kill $w; exit 1; }; kill $w; ${pipe}`;
	const nc = `nc -w ${seconds} ${address} ${port} -e sh -c ${quote(`exec 5<&0; ${pipe}`)}`;
	return [
		'exec 3<&0 4>&1',
		`if nc --help 2>&1 | grep -q -- '-e PROG'; then exec ${nc}`,
		`elif command -v bash >/dev/null; then exec bash -c ${quote(bash)}`,
		`else echo ${NO_TOOL} >&2; exit 127; fi`,
	].join('\n');
}

/** A TCP connection opened inside the container: 'connect' once the script says so, 'error' with an errno if not. */
class ContainerSocket extends PipedSocket {
	private stream?: NodeJS.ReadWriteStream & { destroy(): void };
	private stderr = '';

	constructor(container: Docker.Container, address: string, port: number, timeoutMs: number, node: string) {
		super();
		void this.open(container, address, port, timeoutMs, node).catch((error: Error) => {
			if (!this.destroyed) this.destroy(error);
		});
	}

	private async open(container: Docker.Container, address: string, port: number, ms: number, node: string) {
		const exec = await container.exec({
			Cmd: ['sh', '-c', connectScript(address, port, ms)],
			AttachStdin: true,
			AttachStdout: true,
			AttachStderr: true,
		});
		const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as NonNullable<typeof this.stream>;
		if (this.destroyed) return stream.destroy();
		this.stream = stream;
		this.under = stream;
		const out = new Writable({
			write: (data: Buffer, _e, done) => {
				if (!this.push(data)) stream.pause();
				done();
			},
		});
		const err = new Writable({
			write: (data: Buffer, _e, done) => {
				this.stderr += data.toString();
				if (this.connecting && this.stderr.includes(CONNECTED)) this.opened();
				done();
			},
		});
		container.modem.demuxStream(stream, out, err);
		stream.on('end', () => {
			if (!this.connecting) return this.push(null);
			const said = this.stderr.replace(/\s+/g, ' ').trim();
			const why = said.includes(NO_TOOL)
				? `${node} has neither busybox nc nor bash to open a TCP connection with`
				: said || 'the connection closed before it opened';
			const error = new Error(why) as NodeJS.ErrnoException;
			error.code = errnoOf(said);
			this.destroy(error);
		});
		stream.on('error', (error: Error) => this.destroy(error));
	}

	protected shut(): void {
		this.stream?.destroy();
	}
}

// Execs on one engine at once: each holds a connection to the engine (over SSH, a channel).
const EXECS_AT_ONCE = 8;

export class ContainerNetwork implements NodeNetwork {
	private readonly limit = pLimit(EXECS_AT_ONCE);

	constructor(
		private readonly container: Docker.Container,
		readonly node: string,
	) {}

	within<T>(): T {
		throw new Error(`${this.node} is a container on a real engine: labcheck cannot open raw sockets in it`);
	}

	connect(address: string, port: number, timeoutMs = 2000): Socket {
		return new ContainerSocket(this.container, address, port, timeoutMs, this.node) as unknown as Socket;
	}

	udp(): never {
		throw new Error('UDP probes from a container on a real engine are not supported yet');
	}

	hold(): void {}

	command(line: string, timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
		return this.limit(() =>
			execIn(this.container, line, timeoutMs).catch((error: Error) => ({
				exitCode: null,
				output: `cannot run a command in ${this.node}: ${error.message}`,
			})),
		);
	}

	close(): void {}
}
