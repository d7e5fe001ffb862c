// Containers of a lab in their engines: networks with fixed subnets, containers with fixed addresses.
import type Docker from 'dockerode';
import { BackendError } from '../../../errors.js';
import type { Plan, PlanNode } from '../../../plan/types.js';

// PID 1 that stops at once on SIGTERM (a bare `sh` would make `docker stop` wait its full timeout).
const KEEP_RUNNING = ['sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

export const containerName = (id: string, node: string) => `lc-${id}-${node}`;

export async function createNetworks(plan: Plan, engine: string, docker: Docker, id: string): Promise<void> {
	for (const net of plan.networks.filter((n) => n.engine === engine)) {
		const bridge = plan.nodes.find((n) => n.name === engine)!.interfaces.find((i) => i.network === net.name)!.ifname;
		await docker.createNetwork({
			Name: net.name,
			Driver: 'bridge',
			Internal: net.internal ?? false,
			CheckDuplicate: true,
			IPAM: { Config: [{ Subnet: net.subnet, Gateway: net.gateway }] },
			Options: { 'com.docker.network.bridge.name': bridge },
			Labels: { 'labcheck.lab': id },
		});
	}
}

export async function createContainer(docker: Docker, node: PlanNode, id: string): Promise<Docker.Container> {
	const [iface] = node.interfaces;
	const { container } = node;
	if (!container || !iface) throw new BackendError(`node "${node.name}" is not a container`);
	const ports = container.publish.map((p) => `${p.containerPort}/${p.proto}`);
	return docker.createContainer({
		name: containerName(id, node.name),
		Hostname: node.name,
		Image: container.image,
		Cmd: KEEP_RUNNING,
		Labels: { 'labcheck.lab': id, 'labcheck.node': node.name },
		ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])),
		HostConfig: {
			NetworkMode: iface.network,
			PortBindings: Object.fromEntries(
				container.publish.map((p) => [`${p.containerPort}/${p.proto}`, [{ HostPort: String(p.hostPort) }]]),
			),
		},
		NetworkingConfig: { EndpointsConfig: { [iface.network]: { IPAMConfig: { IPv4Address: iface.address } } } },
	});
}

export async function containerPid(container: Docker.Container): Promise<number> {
	const info = await container.inspect();
	if (!info.State.Running) throw new BackendError(`container ${info.Name.slice(1)} is not running`);
	return info.State.Pid;
}

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
