// Service registry: the calculator's five services. sshd is started by the backend (services/sshd.ts).
import type { Server } from 'node:http';
import { calculatorService, type Peers } from './calculator/calculator.js';
import { OPERATIONS, operationService, type OperationName } from './calculator/operation.js';
import { serve } from './http.js';

export const HTTP_SERVICES = ['calculator', ...Object.keys(OPERATIONS)] as Array<'calculator' | OperationName>;
export type HttpServiceName = (typeof HTTP_SERVICES)[number];

export interface StartOptions {
	port: number;
	host?: string;
	peers?: Partial<Peers>;
	log?: (line: string) => void;
}

export function startService(name: HttpServiceName, options: StartOptions): Promise<Server> {
	const log = options.log ?? ((line: string) => console.log(line));
	if (name === 'calculator') {
		const missing = Object.keys(OPERATIONS).filter((op) => !options.peers?.[op as OperationName]);
		if (missing.length > 0)
			throw new Error(
				`calculator needs the address of the ${missing.join(', ')} service(s): --${missing[0]} HOST:PORT`,
			);
		return serve(calculatorService(options.peers as Peers, log), options.port, options.host, log);
	}
	return serve(operationService(name, log), options.port, options.host, log);
}
