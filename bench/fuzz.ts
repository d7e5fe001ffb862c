// `npm run fuzz -- --runs 10000 [--seed N]`: the fuzz test's property over many more cases; prints the
// failing input (shrunk) and its seed when a case crashes, hangs or reports a problem without a position.
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { scenarioText } from '../test/generators/hostile.js';
import { judgeQuietly } from '../test/generators/properties.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
let valid = 0;
let slowest = 0;
const started = performance.now();
const result = await fc.check(
	fc.asyncProperty(scenarioText, async (text) => {
		const verdict = await judgeQuietly(text);
		if (verdict.valid) valid++;
		slowest = Math.max(slowest, verdict.ms);
	}),
	{ numRuns: runs, seed: values.seed === undefined ? undefined : Number(values.seed) },
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (result.failed) {
	console.error(
		`✖ fuzz: case failed after ${result.numRuns} runs (seed ${result.seed}, ` +
			`path ${result.counterexamplePath}): ${String(result.errorInstance)}`,
	);
	console.error('--- scenario ---');
	console.error(result.counterexample?.[0]);
	process.exit(1);
}
console.log(
	`✔ fuzz: ${result.numRuns} scenarios (${valid} valid), none crashed or hung; ` +
		`slowest ${slowest.toFixed(0)} ms; ${seconds} s (seed ${result.seed})`,
);
