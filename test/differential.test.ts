// Model against lab: random valid labs (every check `auto`) built and probed for real; each
// measurement must equal the model's prediction. The fixtures are labs where they once disagreed
// (each says what was wrong); the seeds are fresh labs. `npm run differential -- --runs 200` runs more.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runTopology } from '../bench/differential.js';
import { randomDockerTopology, randomTopology } from './generators/topology.js';
import { assertNothingLeft, labcheck, ROOT, snapshot } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('differential');

test.before(async () => {
	await labcheck(['clean']);
});

for (const file of readdirSync(join(ROOT, 'fixtures/differential')).filter((f) => f.endsWith('.yaml'))) {
	test.serial(`fixture ${file}: the lab measures what the model predicts`, async (t) => {
		const run = await labcheck(['run', `fixtures/differential/${file}`, '--no-report', '-q']);
		t.is(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
	});
}

for (const [seed, docker] of [
	[1001, false],
	[1002, false],
	[1003, false],
	[2001, true],
] as const) {
	test.serial(
		`random ${docker ? 'Docker ' : ''}lab, seed ${seed}: every check as predicted, nothing left`,
		async (t) => {
			const before = await snapshot();
			const result = await runTopology(docker ? randomDockerTopology(seed) : randomTopology(seed), dir);
			t.falsy(result.error, result.error);
			t.true(result.checks > 0);
			t.deepEqual(result.disagreements, [], `seed ${seed}`);
			await assertNothingLeft(t, before);
		},
	);
}
