// `labcheck ci github|gitlab [scenarios...]`: a CI job per scenario that installs, runs, keeps the reports.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { UsageError } from '../errors.js';

const OUTPUTS = ['report.md', 'report.html', 'results.xml', 'results.json'];
const RUN = (scenario: string) =>
	`npx labcheck run "${scenario}" --report report.md --html report.html --junit results.xml --json results.json`;

export function githubWorkflow(scenarios: string[]): string {
	return stringify(
		{
			name: 'labcheck',
			on: { push: null, pull_request: null },
			jobs: {
				lab: {
					name: '${{ matrix.scenario }}',
					'runs-on': 'ubuntu-latest',
					strategy: { 'fail-fast': false, matrix: { scenario: scenarios } },
					steps: [
						{ uses: 'actions/checkout@v4' },
						{ uses: 'actions/setup-node@v4', with: { 'node-version': 20 } },
						{ run: 'npm ci' },
						{ run: 'sudo npx labcheck doctor --fix' },
						{ run: `sudo ${RUN('${{ matrix.scenario }}')}` },
						{ if: 'always()', run: 'cat report.md >> "$GITHUB_STEP_SUMMARY"' },
						{
							if: 'always()',
							uses: 'actions/upload-artifact@v4',
							with: { name: 'labcheck-${{ strategy.job-index }}', path: OUTPUTS.join('\n') },
						},
					],
				},
			},
		},
		{ lineWidth: 0 },
	);
}

export function gitlabJob(scenarios: string[]): string {
	return stringify(
		{
			labcheck: {
				image: 'node:20-bookworm',
				parallel: { matrix: [{ SCENARIO: scenarios }] },
				script: ['npm ci', 'npx labcheck doctor --fix', RUN('$SCENARIO')],
				artifacts: { when: 'always', paths: OUTPUTS, reports: { junit: 'results.xml' } },
			},
		},
		{ lineWidth: 0 },
	);
}

export async function ci(
	kind: string,
	scenarios: string[],
	flags: { output?: string; stdout?: boolean },
): Promise<number> {
	if (kind !== 'github' && kind !== 'gitlab') throw new UsageError(`unknown CI "${kind}"; known: github, gitlab`);
	const files =
		scenarios.length > 0
			? scenarios
			: (await readdir('scenarios').catch(() => [] as string[]))
					.filter((f) => f.endsWith('.yaml'))
					.map((f) => `scenarios/${f}`);
	if (files.length === 0)
		throw new UsageError('no scenario to run', 'name them: `labcheck ci github scenarios/nat.yaml ...`');
	const text = kind === 'github' ? githubWorkflow(files) : gitlabJob(files);
	if (flags.stdout) {
		process.stdout.write(text);
		return 0;
	}
	const output = flags.output ?? (kind === 'github' ? '.github/workflows/labcheck.yml' : '.gitlab-ci.yml');
	await mkdir(dirname(output), { recursive: true });
	await writeFile(output, text);
	console.log(`wrote ${output}: one job per scenario (${files.join(', ')})`);
	return 0;
}
