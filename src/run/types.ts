// What a run produces: one result per check, and the summary reporters render.
import type { ProbeResult } from '../../probes/types.js';
import type { ActionResult, RealMachines } from '../backends/types.js';
import type { Prediction } from '../model/predict.js';
import type { Outcome, Plan, PlanAction, PlanCheck, PlanStep } from '../plan/types.js';

export interface CheckResult {
	check: PlanCheck;
	result: ProbeResult;
	actual: Outcome;
	passed: boolean;
	/** Why the check failed, or why the target was unreachable: one line for a person. */
	explanation?: string;
	/** What the model predicted from the plan alone, with its path. */
	predicted?: Prediction;
}

/** A step's change and whether it went as the scenario said (done, or refused when `expect: refused`). */
export interface ActionOutcome {
	step: number;
	action: PlanAction;
	result: ActionResult;
	passed: boolean;
}

export interface RunEnvironment {
	labcheck: string;
	node: string;
	kernel: string;
	backend: string;
	command: string;
}

export interface RunSummary {
	plan: Plan;
	labId: string;
	startedAt: string;
	durationMs: number;
	results: CheckResult[];
	actions: ActionOutcome[];
	passed: number;
	failed: number;
	environment: RunEnvironment;
	/** The signal that stopped the run early (SIGINT, SIGTERM…): only what finished before it is judged. */
	interrupted?: string;
	/** Checks and actions the scenario has that did not finish before the interruption. */
	notRun?: number;
	/** Measured on real machines (`--on`): what they said of themselves, and what the run contacted. */
	machines?: RealMachines;
}

/** Hooks a reporter may implement; each reporter is one file in reporters/. */
export interface Reporter {
	onRunStart?(plan: Plan): void | Promise<void>;
	onProgress?(line: string): void;
	onCheckEnd?(result: CheckResult): void;
	onStepStart?(step: PlanStep, index: number): void;
	onActionEnd?(outcome: ActionOutcome): void;
	onRunEnd?(summary: RunSummary): void | Promise<void>;
}
