// What every labcheck service shares: plain-text HTTP, GET /health, the peer header probes read, 4xx for bad input.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export const PEER_HEADER = 'x-labcheck-peer';

export class BadRequest extends Error {
	constructor(message: string, readonly status = 400) { super(message); }
}

export interface ServiceHandler {
	name: string;
	/** The answer to POST / with `body`; throw BadRequest for input the service refuses. */
	post(body: string): Promise<string>;
}

const readBody = (req: IncomingMessage, limit = 64 * 1024) => new Promise<string>((resolve, reject) => {
	let body = '';
	req.setEncoding('utf8');
	req.on('data', (chunk: string) => {
		body += chunk;
		if (body.length > limit) reject(new BadRequest('request body too large', 413));
	});
	req.on('end', () => resolve(body));
	req.on('error', reject);
});

export function serve(handler: ServiceHandler, port: number, host = '0.0.0.0', log: (line: string) => void = console.log): Promise<Server> {
	const server = createServer(async (req, res) => {
		res.setHeader(PEER_HEADER, req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '');
		const send = (status: number, text: string) => {
			res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
			res.end(text);
		};
		try {
			if (req.method === 'GET' && req.url === '/health') return send(200, `${JSON.stringify({ service: handler.name, ok: true })}\n`);
			if (req.method === 'GET' && req.url === '/') return send(200, `${handler.name} service: POST / with a body\n`);
			if (req.method !== 'POST') return send(405, `use POST / (got ${req.method} ${req.url})\n`);
			send(200, await handler.post(await readBody(req)));
		} catch (error) {
			if (error instanceof BadRequest) {
				log(`refused: ${error.message}`);
				return send(error.status, `${error.message}\n`);
			}
			log(`error: ${(error as Error).message}`);
			send(500, `internal error: ${(error as Error).message}\n`);
		}
	});
	server.keepAliveTimeout = 30_000;
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, host, () => resolve(server));
	});
}
