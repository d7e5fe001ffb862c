// The probe registry: one module a probe, one line here. Everything else — the names the scenario
// accepts, their options in the schema, the ports they need, the model's packet, the bounds in flight,
// the evidence and the CLI help — comes from the probes themselves.
// Loaded eagerly (statically imported): net-ping's raw-socket addon never sees replies when it is first
// loaded from inside an I/O callback.
import { z } from 'zod';
import { dns } from './dns.js';
import { exec } from './exec.js';
import { http } from './http.js';
import { ping } from './ping.js';
import { ssh } from './ssh.js';
import { tcp } from './tcp.js';
import type { Probe } from './types.js';
import { udp } from './udp.js';

export const probes: readonly Probe[] = [ping, tcp, http, ssh, exec, udp, dns];

const byName = new Map(probes.map((p) => [p.name, p]));
export const probeNames = probes.map((p) => p.name);
export const probeOf = (name: string): Probe | undefined => byName.get(name);
export const isProbeName = (name: string): boolean => byName.has(name);

/**
 * Every probe's options in one object schema (an option several probes read is one schema), each saying who reads it.
 */
export function optionShapes(): Record<string, z.ZodType> {
	const shapes: Record<string, z.ZodType> = {};
	for (const [key, schema] of Object.entries(
		Object.assign({}, ...probes.map((p) => p.options)) as Record<string, z.ZodType>,
	)) {
		const users = probes.filter((p) => key in p.options).map((p) => p.name);
		const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
		const about = (schema.description ?? inner.description ?? '').replace(/^\w+: /, '');
		shapes[key] = schema.describe(users.length < probes.length ? `${users.join(', ')}: ${about}` : about);
	}
	return shapes;
}
