// What the plan needs to know about each probe, without loading any probe's code.
export interface ProbeInfo {
	summary: string;
	port: 'none' | 'required' | 'optional';
	defaultPort?: number;
}

export const probeCatalog = {
	ping: { summary: 'ICMP echo (net-ping): loss and rtt min/avg/max', port: 'none' },
	tcp: { summary: 'TCP connect: open, refused (RST), unreachable or filtered', port: 'required' },
	http: {
		summary: 'HTTP request: status, body, and the source address the service saw',
		port: 'optional',
		defaultPort: 80,
	},
	ssh: { summary: 'SSH login (ssh2) with the per-run key, runs a command', port: 'optional', defaultPort: 22 },
} satisfies Record<string, ProbeInfo>;

export type ProbeName = keyof typeof probeCatalog;
export const probeNames = Object.keys(probeCatalog) as ProbeName[];
export const isProbeName = (name: string): name is ProbeName => Object.hasOwn(probeCatalog, name);
