declare module 'net-ping' {
	export interface SessionOptions {
		retries?: number;
		timeout?: number;
		packetSize?: number;
		sessionId?: number;
		ttl?: number;
	}
	export type PingCallback = (
		error: (Error & { source?: string }) | null,
		target: string,
		sent?: Date,
		received?: Date,
	) => void;
	export interface Session {
		pingHost(target: string, callback: PingCallback): Session;
		close(): void;
		on(event: 'error', listener: (error: Error) => void): Session;
		/** The raw-socket socket (undocumented): emits 'message' for every ICMP packet the node receives. */
		getSocket(): {
			on(event: 'message', listener: () => void): void;
			setOption(level: number, option: number, value: number | Buffer, length?: number): void;
		};
		/** Called once a request has left (internal): `request.callback` is pingHost's callback. */
		onSocketSend(request: { callback: PingCallback }, error: Error | null, bytes: number): void;
	}
	const ping: { createSession(options?: SessionOptions): Session };
	export default ping;
}
