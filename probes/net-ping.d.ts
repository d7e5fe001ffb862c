declare module 'net-ping' {
	interface SessionOptions { retries?: number; timeout?: number; packetSize?: number; sessionId?: number; ttl?: number }
	interface Session {
		pingHost(target: string, callback: (error: (Error & { source?: string }) | null, target: string, sent?: Date, received?: Date) => void): Session;
		close(): void;
		on(event: 'error', listener: (error: Error) => void): Session;
	}
	const ping: { createSession(options?: SessionOptions): Session };
	export default ping;
}
