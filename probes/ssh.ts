// ssh: log in with ssh2 (per-run key, or a password), run a command, capture banner and output.
import { readFile } from 'node:fs/promises';
import { classifyError, deadline, timedOut } from './classify.js';
import { match, text, timeout } from './options.js';
import { defineProbe, type ProbeResult } from './types.js';

// A login is key exchange and authentication, CPU-bound: seconds on a loaded 2-core machine.
const SSH_TIMEOUT_MS = 5000;

// $SSH_CONNECTION is "client-ip client-port server-ip server-port" as the server saw it: NAT made visible.
const DEFAULT_COMMAND = 'echo "labcheck-seen-from $SSH_CONNECTION"';

export const ssh = defineProbe({
	name: 'ssh',
	summary: 'SSH login (ssh2) with the per-run key, runs a command',
	port: 'optional',
	defaultPort: 22,
	packet: { proto: 'tcp', app: true },
	judged: 'reach',
	// A login costs the target CPU: sshd starts refusing past 10 unauthenticated connections.
	inFlight: 8,
	options: {
		timeout,
		match,
		command: text().describe('ssh: command to run after login.').optional(),
		user: text().describe('ssh: user to log in as (default root).').optional(),
		password: text().describe('ssh: log in with this password instead of the per-run key.').optional(),
	},
	evidence(check, result) {
		const e = (result.evidence ?? {}) as Record<string, unknown>;
		const command = check.options.command ? ` '${check.options.command}'` : '';
		const lines = [
			`${check.from}$ ssh -p ${check.to.port} ${check.options.user ?? 'root'}@${check.to.address}${command}`,
		];
		if (e.serverVersion) lines.push(`server: ${e.serverVersion}`);
		if (e.banner) lines.push(String(e.banner));
		if (e.output !== undefined) lines.push(...String(e.output).trimEnd().split('\n').slice(0, 8));
		else lines.push(result.detail);
		return lines;
	},
	async run({ address, port, options }, { network, sshKeyFile }) {
		const timeout = options.timeout ?? SSH_TIMEOUT_MS;
		const started = performance.now();
		const privateKey = options.password === undefined && sshKeyFile ? await readFile(sshKeyFile, 'utf8') : undefined;
		// ssh2 is heavy to load: loaded for the first ssh probe only.
		const { Client } = (await import('ssh2')).default;
		return new Promise<ProbeResult>((resolve) => {
			const client = new Client();
			let banner = '';
			let settled = false;
			const finish = (result: Omit<ProbeResult, 'ms'>) => {
				if (settled) return;
				settled = true;
				cancel();
				client.end();
				resolve({ ...result, ms: performance.now() - started });
			};
			const cancel = deadline(timeout, () => finish(timedOut(timeout)));
			client.on('banner', (text) => {
				banner += text;
			});
			client.on('handshake', () => {
				banner ||= '';
			});
			client.on('error', (error) => {
				const level = (error as { level?: string }).level;
				if (level === 'client-authentication')
					finish({ status: 'ok', detail: 'sshd answered but refused the login', mismatch: 'authentication failed' });
				else finish(classifyError(error));
			});
			client.on('ready', () => {
				const command = options.command ?? DEFAULT_COMMAND;
				client.exec(command, (error, stream) => {
					if (error) return finish({ status: 'ok', detail: 'logged in; exec failed', mismatch: error.message });
					let output = '';
					stream.on('data', (d: Buffer) => {
						output += d.toString();
					});
					stream.stderr.on('data', (d: Buffer) => {
						output += d.toString();
					});
					stream.on('close', (code: number | null) => {
						const seen = /labcheck-seen-from (\S+) \d+ (\S+) (\d+)/.exec(output);
						const shown = seen ? `seen by sshd as ${seen[1]} → ${seen[2]}:${seen[3]}` : output.trim().split('\n')[0];
						finish({
							status: 'ok',
							detail: `logged in as ${options.user ?? 'root'}; ${shown}`,
							seenFrom: seen?.[1],
							mismatch:
								options.match !== undefined && !output.includes(options.match)
									? `output does not contain "${options.match}"`
									: code
										? `command exited ${code}`
										: undefined,
							evidence: { banner: banner.trim(), serverVersion: serverVersion, command, output, exitCode: code },
						});
					});
				});
			});
			let serverVersion = '';
			client.connect({
				// ssh2's own handshake timer only cleans up: `deadline` decides, so that silence reads as silence.
				sock: network.connect(address, port!, timeout),
				host: address,
				port,
				username: options.user ?? 'root',
				privateKey,
				password: options.password,
				readyTimeout: timeout + 1000,
				hostVerifier: () => true,
				tryKeyboard: false,
				debug: (line: string) => {
					const m = /Remote ident: '(.*)'/.exec(line);
					if (m) serverVersion = m[1];
				},
			});
		});
	},
});
