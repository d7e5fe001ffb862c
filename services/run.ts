// Standalone entry point of the calculator services, light enough to start quickly in a lab node.
// One process can serve several: run.js calculator:50000 sum:50001 --sum 127.0.0.1:50001 ...
import { parseArgs } from 'node:util';
import { HTTP_SERVICES, startService, type HttpServiceName } from './index.js';

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
	},
});
const specs = positionals.map((p) => {
	const [name, port = values.port] = p.split(':');
	return { name: name as HttpServiceName, port: Number(port) };
});
if (specs.length === 0 || specs.some((s) => !HTTP_SERVICES.includes(s.name) || !Number.isInteger(s.port))) {
	console.error(`usage: run.js <${HTTP_SERVICES.join('|')}>:PORT ... [--sum HOST:PORT ...]`);
	process.exit(2);
}
const { sum, sub, mul, div } = values;
for (const { name, port } of specs) {
	startService(name, { port, host: values.host, peers: { sum, sub, mul, div } })
		.then(() => console.log(`${name} listening on ${values.host ?? '0.0.0.0'}:${port}`))
		.catch((error: Error) => {
			console.error(`${name}: ${error.message}`);
			process.exit(1);
		});
}
