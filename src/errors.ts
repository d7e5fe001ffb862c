// Errors a user can act on. The CLI prints their message (never a stack) and exits with `exitCode`.
export class LabcheckError extends Error {
	readonly exitCode: number = 1;
	constructor(
		message: string,
		readonly hint?: string,
		options?: ErrorOptions,
	) {
		super(message, options);
		this.name = new.target.name;
	}
}

/** Exit 2: the command line or a scenario file is wrong. */
export class UsageError extends LabcheckError {
	override readonly exitCode = 2;
}

export interface SourcePosition {
	file: string;
	line: number;
	col: number;
}

/** A person reads the first few problems of a file; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 30;

/** Exit 2: a scenario file is invalid; carries every problem found, each with its position. */
export class ScenarioError extends UsageError {
	constructor(readonly problems: Array<{ at: SourcePosition; message: string; hint?: string }>) {
		const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
		if (problems.length > MAX_PROBLEMS_SHOWN)
			shown.push(`… and ${problems.length - MAX_PROBLEMS_SHOWN} more problems of the same file`);
		super(shown.join('\n'));
	}
}

export function formatProblem(p: { at: SourcePosition; message: string; hint?: string }): string {
	return visible(`${p.at.file}:${p.at.line}:${p.at.col}: ${p.message}${p.hint ? ` — ${p.hint}` : ''}`);
}

/** Control characters a file may carry (escape sequences) shown as \xNN: a message never drives the terminal. */
export const visible = (text: string): string =>
	// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
	text.replace(/[\x00-\x08\x0b-\x1f\x7f\x9b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** Exit 3: the machine lacks something (root, a package, a kernel feature); `hint` names the fix. */
export class EnvironmentError extends LabcheckError {
	override readonly exitCode = 3;
}

/** Exit 3: building or tearing down the lab failed; wraps the command that failed as `cause`. */
export class BackendError extends LabcheckError {
	override readonly exitCode = 3;
}
