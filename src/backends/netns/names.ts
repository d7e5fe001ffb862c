// Names of everything a run creates, all derived from one per-run id so two runs never collide
// and `labcheck clean` can recognise leftovers.
import { randomBytes } from 'node:crypto';

export const STATE_ROOT = '/run/labcheck';
export const LAB_NAMESPACE = /^lc(?:sw)?-([a-z0-9]{4})-/;

export const newRunId = (): string => {
	const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
	return [...randomBytes(4)].map((b) => alphabet[b % alphabet.length]).join('');
};
export const nodeNamespace = (id: string, node: string) => `lc-${id}-${node}`;
export const switchNamespace = (id: string, network: string) => `lcsw-${id}-${network}`;
/** The switch-side end of a node's veth: unique within the switch namespace, at most 15 characters. */
export const switchPort = (index: number, node: string) => `p${index}-${node}`.slice(0, 15);
export const stateDir = (id: string) => `${STATE_ROOT}/${id}`;
