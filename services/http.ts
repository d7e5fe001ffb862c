// What every labcheck service shares: plain-text HTTP, GET /health, the peer header probes read, 4xx for bad input.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export const PEER_HEADER = 'x-labcheck-peer';

export class BadRequest extends Error {
	constructor(
		message: string,
		readonly status = 400,
	) {
		super(message);
	}
}

export interface ServiceHandler {
	name: string;
	/** The answer to POST / with `body`; throw BadRequest for input the service refuses. */
	post(body: string): Promise<string>;
}

/** What a client may cost a service: bounded body, header and request time, and connections. */
export const LIMITS = { bodyBytes: 64 * 1024, headersMs: 5000, requestMs: 10_000, keepAliveMs: 5000, connections: 512 };

/** The body, refused with 413 as soon as it passes the limit (announced or sent): the rest is never read. */
const readBody = (req: IncomingMessage, limit = LIMITS.bodyBytes) =>
	new Promise<string>((resolve, reject) => {
		const tooLarge = () => new BadRequest(`request body too large: at most ${limit} bytes`, 413);
		if (Number(req.headers['content-length'] ?? 0) > limit) return reject(tooLarge());
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > limit) {
				req.removeAllListeners('data');
				req.pause();
				return reject(tooLarge());
			}
			chunks.push(chunk);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});

export function serve(
	handler: ServiceHandler,
	port: number,
	host = '0.0.0.0',
	log: (line: string) => void = console.log,
): Promise<Server> {
	// Slow clients are dropped once header or request time runs out (checked every second, not every 30 s).
	const server = createServer(
		{ headersTimeout: LIMITS.headersMs, requestTimeout: LIMITS.requestMs, connectionsCheckingInterval: 1000 },
		async (req, res) => {
			res.setHeader(PEER_HEADER, req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '');
			const send = (status: number, text: string) => {
				// A refused body is not read to its end: the connection closes after the answer.
				if (status === 413) res.setHeader('connection', 'close');
				res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
				res.end(text, () => {
					if (status === 413) req.socket.destroy();
				});
			};
			try {
				const path = (req.url ?? '/').split('?')[0];
				if (path === '/health' && req.method === 'GET')
					return send(200, `${JSON.stringify({ service: handler.name, ok: true })}\n`);
				if (path !== '/' && path !== '/health')
					return send(404, `no such path ${JSON.stringify(path.slice(0, 60))}: POST / with a body\n`);
				if (path === '/health') return send(405, 'use GET /health\n');
				if (req.method === 'GET') return send(200, `${handler.name} service: POST / with a body\n`);
				if (req.method !== 'POST') return send(405, `use POST / (got ${req.method})\n`);
				send(200, await handler.post(await readBody(req)));
			} catch (error) {
				if (error instanceof BadRequest) {
					log(`refused: ${error.message}`);
					return send(error.status, `${error.message}\n`);
				}
				log(`error: ${(error as Error).message}`);
				send(500, `internal error: ${(error as Error).message}\n`);
			}
		},
	);
	server.maxConnections = LIMITS.connections;
	server.keepAliveTimeout = LIMITS.keepAliveMs;
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => resolve(server));
	});
}
