// Messages between labcheck and the agent it runs inside each node's namespace: one JSON object a line.
import type { ProbeContext, ProbeRequest, ProbeResult } from '../../probes/types.js';

export type AgentRequest =
	| { id: number; type: 'probe'; request: ProbeRequest; context: ProbeContext }
	| { id: number; type: 'wait-port'; port: number; timeoutMs: number };

export type AgentReply = { id: number; result?: ProbeResult; ok?: boolean; error?: string };
