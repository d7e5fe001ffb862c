import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { RunEnvironment } from './types.js';

export const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

export const environment = (backend: string, command: string): RunEnvironment => ({
	labcheck: VERSION, node: process.version, kernel: release(), backend, command,
});
