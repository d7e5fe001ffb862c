// http: one request; status, body, and the source address a labcheck service saw (header x-labcheck-peer).
import { request } from 'node:http';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { z } from 'zod';
import { classifyError, deadline, timedOut } from './classify.js';
import { match, text, timeout } from './options.js';
import { defineProbe, type ProbeResult } from './types.js';

// A request may cross several services (the calculator calls four): more than a connect needs.
const HTTP_TIMEOUT_MS = 2000;

export const PEER_HEADER = 'x-labcheck-peer';

export const http = defineProbe({
	name: 'http',
	summary: 'HTTP request: status, body, and the source address the service saw',
	port: 'optional',
	defaultPort: 80,
	packet: { proto: 'tcp', app: true },
	judged: 'reach',
	// A request costs the target CPU.
	inFlight: 64,
	options: {
		timeout,
		match,
		method: text().describe('http: request method (POST when a body is given).').optional(),
		body: text().describe('http: request body, e.g. "(5+6)*2".').optional(),
		status: z.int().min(100).max(599).describe('http: expected status (default: any 2xx).').optional(),
		insecure: z
			.boolean()
			.describe('http: accept an HTTPS certificate that is not trusted (a self-signed one).')
			.optional(),
	},
	evidence(check, result) {
		const e = (result.evidence ?? {}) as Record<string, unknown>;
		const body = check.options.body;
		const post = body !== undefined ? ` -d ${JSON.stringify(body)} -X POST` : '';
		const url = check.to.url ? check.to.label : `http://${check.to.address}:${check.to.port}/`;
		const lines = [`${check.from}$ curl${check.options.insecure ? ' -k' : ''}${post} ${url}`];
		if (e.status !== undefined)
			lines.push(
				`< HTTP ${e.status}`,
				...String(e.body ?? '')
					.trimEnd()
					.split('\n')
					.slice(0, 8),
			);
		else lines.push(result.detail);
		if (result.seenFrom) lines.push(`(the service saw the request come from ${result.seenFrom})`);
		return lines;
	},
	run: ({ address, port, url, options }, { network }) =>
		new Promise<ProbeResult>((resolve) => {
			const timeout = options.timeout ?? HTTP_TIMEOUT_MS;
			const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
			const started = performance.now();
			let settled = false;
			const finish = (result: Omit<ProbeResult, 'ms'>) => {
				if (settled) return;
				settled = true;
				cancel();
				resolve({ ...result, ms: performance.now() - started });
			};
			// The socket is opened here, its error watched at once: a connect that fails at once (no route)
			// reports on the next tick, before the request would listen.
			const socket = network.connect(address, port!, timeout);
			socket.once('error', (error) => finish(classifyError(error)));
			// HTTPS: TLS over the node's connection, the certificate checked against the name (unless `insecure`).
			const channel = url?.https
				? tls.connect({
						socket,
						servername: isIP(url.host) ? undefined : url.host,
						rejectUnauthorized: !options.insecure,
					})
				: socket;
			if (channel !== socket)
				channel.once('error', (error: Error) => finish({ status: 'error', detail: `TLS: ${error.message}` }));
			const path = url?.path ?? '/';
			const req = request(
				{
					host: url?.host ?? address,
					port,
					method,
					path,
					createConnection: () => channel,
					headers: { 'content-type': 'text/plain' },
				},
				(res) => {
					let body = '';
					res.setEncoding('utf8');
					res.on('data', (chunk: string) => {
						body += chunk;
					});
					res.on('end', () => {
						const status = res.statusCode ?? 0;
						const statusOk = options.status === undefined ? status >= 200 && status < 300 : status === options.status;
						const mismatch = !statusOk
							? `status ${status}, expected ${options.status ?? '2xx'}`
							: options.match !== undefined && !body.includes(options.match)
								? `body does not contain "${options.match}"`
								: undefined;
						const seenFrom = res.headers[PEER_HEADER];
						finish({
							status: 'ok',
							detail: `${method} ${path} → ${status} ${JSON.stringify(body.trim().slice(0, 80))}`,
							mismatch,
							seenFrom: typeof seenFrom === 'string' ? seenFrom : undefined,
							evidence: {
								request: `${method} ${url?.https ? 'https' : 'http'}://${url?.host ?? address}:${port}${path}`,
								requestBody: options.body,
								status,
								body,
							},
						});
					});
				},
			);
			const cancel = deadline(timeout, () => {
				req.destroy();
				socket.destroy();
				finish(timedOut(timeout));
			});
			req.on('error', (error) => finish(classifyError(error)));
			req.end(options.body);
		}),
});
