// A network namespace this process opens sockets in: setns(2) around the call that creates a socket.
// A socket belongs to the namespace it was created in, whatever the thread does afterwards, so one
// process probes from every node of a lab — no helper process per node, no Node start per node.
import { closeSync, openSync } from 'node:fs';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import type { NodeNetwork } from '../../probes/types.js';
import { libc } from './libc.js';

const CLONE_NEWNET = 0x40000000;
let syscall: ((fd: number, nstype: number) => number) | undefined;
let home: number | undefined;

function enter(fd: number, what: string): void {
	syscall ??= libc<(fd: number, nstype: number) => number>('int setns(int fd, int nstype)');
	if (syscall(fd, CLONE_NEWNET) !== 0)
		throw new Error(`setns into ${what} failed (labcheck needs root, CAP_SYS_ADMIN)`);
}

export class NetNamespace implements NodeNetwork {
	private fd?: number;
	private readonly held: Array<{ close(): void }> = [];

	private constructor(readonly path: string) {
		this.fd = openSync(path, 'r');
	}

	/** `/run/netns/NAME` for a named namespace, `/proc/PID/ns/net` for a container's. */
	static open(path: string): NetNamespace {
		home ??= openSync('/proc/self/ns/net', 'r');
		return new NetNamespace(path);
	}

	within<T>(fn: () => T): T {
		if (this.fd === undefined) throw new Error(`${this.path} is closed`);
		enter(this.fd, this.path);
		try {
			return fn();
		} finally {
			enter(home!, "labcheck's own namespace");
		}
	}

	connect(address: string, port: number): Socket {
		// net.connect opens its socket only once the host name is resolved: for an IP address on the
		// next tick, when this namespace is no longer current. A lookup that answers at once makes
		// Node open the socket inside this call.
		const socket = this.within(() =>
			connect({ host: `node:${address}`, port, family: 4, lookup: (_host, _options, done) => done(null, address, 4) }),
		);
		// Opened (an fd) or already failed (no route: its error is emitted on the next tick); anything else would not
		// be the node's.
		if (!socket.destroyed && ((socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1) < 0) {
			socket.destroy();
			throw new Error(
				'Node did not open the socket at once: it would not belong to the node (this Node version is not supported)',
			);
		}
		return socket;
	}

	udp(): UdpSocket {
		// The socket's fd is made by bind: bound here, with a lookup that answers at once, it is the node's.
		const socket = this.within(() => {
			const s = createSocket({ type: 'udp4', lookup: (address, _family, done) => done(null, address, 4) });
			s.bind({ port: 0, address: '0.0.0.0', exclusive: true });
			return s;
		});
		try {
			socket.address(); // throws unless bound: a bind left for later would not be the node's
		} catch {
			socket.close();
			throw new Error('Node did not bind the UDP socket at once: it would not belong to the node');
		}
		return socket;
	}

	hold(resource: { close(): void }): void {
		this.held.push(resource);
	}

	/** Closes what probes kept open here and the namespace itself: nothing of labcheck keeps it alive. */
	close(): void {
		for (const resource of this.held.splice(0)) {
			try {
				resource.close();
			} catch {
				/* already closed */
			}
		}
		if (this.fd !== undefined) closeSync(this.fd);
		this.fd = undefined;
	}
}
