// Property-based fuzzing of scenario files (fast-check): generated and mutated scenarios must end in
// a plan or a positioned user error — never a crash, never a hang. `npm run fuzz -- --runs 10000` runs more.
import test from 'ava';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioText } from './generators/hostile.js';
import { judgeQuietly } from './generators/properties.js';
import { labcheck } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('fuzz');

test('300 generated and mutated scenarios: a plan and predictions, or a positioned error, no warning', async (t) => {
	let valid = 0;
	await fc.assert(
		fc.asyncProperty(scenarioText, async (text) => {
			if ((await judgeQuietly(text)).valid) valid++;
		}),
		{ numRuns: 300 },
	);
	t.log(`${valid} of 300 were valid scenarios`);
	t.pass();
});

test('the CLI answers generated scenarios with exit 0, 1 or 2 and one line per problem, never a stack', async (t) => {
	const cases = fc.sample(scenarioText, { numRuns: 12, seed: 11 });
	for (const [i, text] of cases.entries()) {
		const file = join(dir, `case${i}.yaml`);
		writeFileSync(file, text);
		for (const command of ['validate', 'predict']) {
			const run = await labcheck([command, file]);
			t.true(
				[0, 1, 2].includes(run.exitCode!),
				`${command} case${i}: exit ${run.exitCode}\n${run.stderr}\n--- case ---\n${text}`,
			);
			t.notRegex(run.stderr as string, /a bug|\n\s+at /, `${command} case${i}`);
		}
	}
});
