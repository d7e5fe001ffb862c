// The lab's topology as a Mermaid flowchart (GitHub and GitLab render it): networks, nodes with their
// addresses, NAT engines, port forwards, published ports and floating IPs as labelled edges.
import type { Plan } from '../src/plan/types.js';

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
const text = (s: string) => s.replace(/"/g, "'");
const SHAPES: Record<string, [string, string]> = {
	host: ['[', ']'],
	neighbour: ['[', ']'],
	vm: ['[[', ']]'],
	container: ['[/', '/]'],
	router: ['{{', '}}'],
	internet: ['((', '))'],
};

export function mermaid(plan: Plan): string {
	const lines = ['flowchart LR'];
	for (const net of plan.networks) lines.push(`  ${id('net', net.name)}(["${text(`${net.name} ${net.subnet}`)}"])`);
	for (const node of plan.nodes) {
		const [open, close] = SHAPES[node.kind] ?? ['[', ']'];
		const services = node.services.length
			? `<br/><small>${node.services.map((s) => `${s.name}:${s.port}`).join(' ')}</small>`
			: '';
		lines.push(`  ${id('n', node.name)}${open}"${text(`<b>${node.name}</b>${services}`)}"${close}`);
		for (const iface of node.interfaces)
			lines.push(`  ${id('n', node.name)} ---|${text(iface.address)}| ${id('net', iface.network)}`);
	}
	for (const node of plan.nodes) {
		for (const nat of node.nat) {
			lines.push(`  ${id('n', node.name)} -. "NAT hides ${text(nat.subnet)}" .-> ${id('n', nat.guest)}`);
			for (const f of nat.forwards)
				lines.push(`  ${id('n', node.name)} == "${f.proto} ${f.hostPort} → ${f.guestPort}" ==> ${id('n', f.guest)}`);
		}
		for (const f of node.floating)
			lines.push(`  ${id('n', node.name)} == "floating ${text(f.address)}" ==> ${id('n', f.node)}`);
		for (const m of node.snat)
			lines.push(`  ${id('n', node.name)} -. "SNAT ${text(m.from)}" .-> ${id('n', node.name)}`);
		if (node.container) {
			for (const p of node.container.publish)
				lines.push(
					`  ${id('n', node.container.engine)} == "-p ${p.hostPort}:${p.containerPort}" ==> ${id('n', node.name)}`,
				);
		}
	}
	return lines.join('\n');
}
