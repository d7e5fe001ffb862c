// Standalone entry point of the calculator services, light enough to start quickly in a lab node.
// One process can serve several: run.js calculator:50000 sum:50001 --sum 127.0.0.1:50001 ...
import { parseArgs } from 'node:util';
import { HTTP_SERVICES, startService, type HttpServiceName } from './index.js';
import { parseNames, startUdpService, UDP_SERVICES, type UdpServiceName } from './udp.js';

const { positionals, values } = parseArgs({
	allowPositionals: true,
	options: {
		lab: { type: 'string' },
		host: { type: 'string' },
		port: { type: 'string' },
		sum: { type: 'string' },
		sub: { type: 'string' },
		mul: { type: 'string' },
		div: { type: 'string' },
		names: { type: 'string' },
	},
});
const SERVICES: string[] = [...HTTP_SERVICES, ...UDP_SERVICES];
// NAME:PORT, or NAME:PORT@ADDRESS for a service on one address (a NAT engine's resolver).
const specs = positionals.map((p) => {
	const [spec, address = values.host] = p.split('@');
	const [name, port = values.port] = spec.split(':');
	return { name, port: Number(port), host: address };
});
if (specs.length === 0 || specs.some((s) => !SERVICES.includes(s.name) || !Number.isInteger(s.port))) {
	console.error(`usage: run.js <${SERVICES.join('|')}>:PORT[@ADDRESS] ... [--sum HOST:PORT ...] [--names NAME=IP,...]`);
	process.exit(2);
}
const { sum, sub, mul, div } = values;
const names = parseNames(values.names);
for (const { name, port, host } of specs) {
	const started = (UDP_SERVICES as readonly string[]).includes(name)
		? startUdpService(name as UdpServiceName, { port, host, names })
		: startService(name as HttpServiceName, { port, host, peers: { sum, sub, mul, div } });
	started
		.then(() => console.log(`${name} listening on ${host ?? '0.0.0.0'}:${port}`))
		.catch((error: Error) => {
			console.error(`${name}: ${error.message}`);
			process.exit(1);
		});
}
