import { release } from 'node:os';
import { VERSION } from '../paths.js';
import type { RunEnvironment } from './types.js';

export const environment = (backend: string, command: string): RunEnvironment => ({
	labcheck: VERSION,
	node: process.version,
	kernel: release(),
	backend,
	command,
});
