// `npm run differential -- --runs 200 [--seed N] [--docker] [--save]`: random valid labs (every check
// `auto`) run for real; each check's measurement must equal the model's prediction. Prints every
// disagreement with the model's path and the lab's evidence; --save writes failing labs to
// fixtures/differential/ so they become regression tests.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { randomDockerTopology, randomTopology, type Topology } from '../test/generators/topology.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Disagreement {
	id: string;
	step: number;
	predicted?: string;
	actual: string;
	status: string;
	detail: string;
	path?: string;
}
export interface DifferentialRun {
	seed: number;
	docker: boolean;
	checks: number;
	disagreements: Disagreement[];
	exitCode: number;
	error?: string;
	seconds: number;
}

/** Runs one random lab for real and compares every check with the model. */
export async function runTopology(topology: Topology, dir: string): Promise<DifferentialRun> {
	const file = join(dir, `seed-${topology.seed}.yaml`);
	const json = join(dir, `seed-${topology.seed}.json`);
	writeFileSync(file, topology.text);
	const started = performance.now();
	const run = await execa(
		process.execPath,
		[join(ROOT, 'bin/labcheck.js'), 'run', file, '--json', json, '--no-report', '-q'],
		{ reject: false, cwd: ROOT, env: { FORCE_COLOR: '0' }, timeout: 300_000 },
	);
	const seconds = (performance.now() - started) / 1000;
	if (run.exitCode !== 0 && run.exitCode !== 1)
		return {
			seed: topology.seed,
			docker: topology.docker,
			checks: 0,
			disagreements: [],
			exitCode: run.exitCode ?? -1,
			error: `${run.stderr}`.trim().split('\n').slice(-3).join(' / '),
			seconds,
		};
	const saved = JSON.parse(readFileSync(json, 'utf8')) as {
		results: Array<{
			id: string;
			step: number;
			predicted?: string;
			actual: string;
			status: string;
			detail: string;
			predictedPath?: string;
			passed: boolean;
			check: { expect: string };
		}>;
		actions: Array<{ passed: boolean; action: string; detail: string; step: number }>;
	};
	const disagreements: Disagreement[] = saved.results
		.filter((r) => !r.passed || (r.predicted !== undefined && r.predicted !== r.actual))
		.map((r) => ({
			id: r.id,
			step: r.step,
			predicted: r.predicted,
			actual: r.actual,
			status: r.status,
			detail: r.detail,
			path: r.predictedPath,
		}));
	for (const a of saved.actions.filter((x) => !x.passed))
		disagreements.push({ id: a.action, step: a.step, actual: 'refused', status: 'action', detail: a.detail });
	return {
		seed: topology.seed,
		docker: topology.docker,
		checks: saved.results.length,
		disagreements,
		exitCode: run.exitCode,
		seconds,
	};
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	const { values } = parseArgs({
		options: {
			runs: { type: 'string', default: '20' },
			seed: { type: 'string', default: '1' },
			docker: { type: 'boolean' },
			save: { type: 'boolean' },
		},
	});
	const dir = mkdtempSync(join(tmpdir(), 'labcheck-differential-'));
	let checks = 0;
	const failed: DifferentialRun[] = [];
	for (let i = 0; i < Number(values.runs); i++) {
		const seed = Number(values.seed) + i;
		const topology = values.docker ? randomDockerTopology(seed) : randomTopology(seed);
		const result = await runTopology(topology, dir);
		checks += result.checks;
		const mark = result.error
			? '✖ error'
			: result.disagreements.length
				? `✖ ${result.disagreements.length} disagree`
				: '✓';
		console.log(
			`seed ${seed}${values.docker ? ' (docker)' : ''}: ${result.checks} checks ${mark} ` +
				`(${result.seconds.toFixed(1)} s)${result.error ? ` — ${result.error}` : ''}`,
		);
		for (const d of result.disagreements)
			console.log(
				`    ${d.step ? `[step ${d.step}] ` : ''}${d.id}: model ${d.predicted ?? '—'}, ` +
					`lab ${d.actual} (${d.status}: ${d.detail})${d.path ? `\n        model path: ${d.path}` : ''}`,
			);
		if (result.error || result.disagreements.length) {
			failed.push(result);
			if (values.save) {
				mkdirSync(join(ROOT, 'fixtures/differential'), { recursive: true });
				writeFileSync(
					join(ROOT, `fixtures/differential/${values.docker ? 'docker-' : ''}seed-${seed}.yaml`),
					topology.text,
				);
			}
		}
	}
	console.log(
		`\n${failed.length === 0 ? '✔' : '✖'} differential: ${Number(values.runs)} labs, ${checks} checks, ` +
			`${failed.length} lab(s) where the model and the lab disagree` +
			(failed.length ? `: seeds ${failed.map((f) => f.seed).join(', ')}` : ''),
	);
	process.exit(failed.length === 0 ? 0 : 1);
}
