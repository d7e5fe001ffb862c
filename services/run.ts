// Standalone entry point of a service, light enough to start quickly in a lab node:
//   node services/run.js calculator --port 50000 --sum 127.0.0.1:50001 --sub ... --mul ... --div ...
import { parseArgs } from 'node:util';
import { HTTP_SERVICES, startService, type HttpServiceName } from './index.js';

const { positionals, values } = parseArgs({
	allowPositionals: true,
	options: { lab: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, sum: { type: 'string' }, sub: { type: 'string' }, mul: { type: 'string' }, div: { type: 'string' } },
});
const name = positionals[0] as HttpServiceName;
if (!HTTP_SERVICES.includes(name) || !values.port) {
	console.error(`usage: run.js <${HTTP_SERVICES.join('|')}> --port N [--sum HOST:PORT ...]`);
	process.exit(2);
}
const { sum, sub, mul, div } = values;
startService(name, { port: Number(values.port), host: values.host, peers: { sum, sub, mul, div } })
	.then(() => console.log(`${name} listening on ${values.host ?? '0.0.0.0'}:${values.port}`))
	.catch((error: Error) => { console.error(`${name}: ${error.message}`); process.exit(1); });
