// Backend registry: one module per backend, loaded when chosen.
import { UsageError } from '../errors.js';
import type { Backend } from './types.js';

export const backends = {
	netns: async () => (await import('./netns/index.js')).netnsBackend,
} satisfies Record<string, () => Promise<Backend>>;

export type BackendName = keyof typeof backends;

export async function loadBackend(name: string): Promise<Backend> {
	if (!Object.hasOwn(backends, name))
		throw new UsageError(`unknown backend "${name}"; known: ${Object.keys(backends).join(', ')}`);
	return backends[name as BackendName]();
}
