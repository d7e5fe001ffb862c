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
