// `docker exec` of a shell command, for any engine labcheck talks to: the netns backend's own per-node engines and a
// real lab's remote ones.
import type Docker from 'dockerode';
import { BackendError } from '../errors.js';

/** Runs `command` in the container (docker exec); its exit code and output. */
export async function execIn(
	container: Docker.Container,
	command: string,
	timeoutMs = 30_000,
): Promise<{ exitCode: number; output: string }> {
	const exec = await container.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true });
	const stream = await exec.start({ hijack: true, stdin: false });
	let output = '';
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new BackendError(`exec "${command}" did not finish within ${timeoutMs} ms`)),
			timeoutMs,
		);
		const sink = {
			write: (chunk: Buffer) => {
				output += chunk.toString();
				return true;
			},
		} as unknown as NodeJS.WritableStream;
		container.modem.demuxStream(stream, sink, sink);
		stream.on('end', () => {
			clearTimeout(timer);
			resolve();
		});
		stream.on('error', reject);
	});
	const { ExitCode } = await exec.inspect();
	return { exitCode: ExitCode ?? 1, output };
}
