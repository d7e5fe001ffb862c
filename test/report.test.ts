// Every output format of one real run: Markdown, HTML in real headless Chromium, JUnit, JSON,
// `labcheck report` re-rendering it, `labcheck diff`, and the generated CI jobs.
import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { chromium } from 'playwright-core';
import { parse } from 'yaml';
import { labcheck, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('report');
const out = (name: string) => join(tmp, name);

test.before(async () => {
	await labcheck(['clean']);
	const nat = await labcheck([
		'run',
		'scenarios/nat.yaml',
		'--report',
		out('nat.md'),
		'--html',
		out('nat.html'),
		'--junit',
		out('nat.xml'),
		'--json',
		out('nat.json'),
	]);
	if (nat.exitCode !== 0) throw new Error(`${nat.stdout}${nat.stderr}`);
	const failing = await labcheck(['run', 'fixtures/failing.yaml', '--no-report', '--junit', out('failing.xml')]);
	if (failing.exitCode !== 1) throw new Error(`${failing.stdout}${failing.stderr}`);
});

test('report.md carries a Mermaid topology of every node and network', (t) => {
	const md = readFileSync(out('nat.md'), 'utf8');
	const diagram = /```mermaid\n([\s\S]*?)```/.exec(md)![1];
	for (const node of ['internet', 'host', 'neighbour', 'vm', 'room_gw']) t.regex(diagram, new RegExp(`n_${node}`));
	for (const net of ['room', 'vm_nat', 'wan']) t.regex(diagram, new RegExp(`net_${net}\\(\\[`));
	t.regex(diagram, /n_host -\. "NAT hides 10\.0\.2\.0\/24" \.-> n_vm/);
});

test('report.html renders offline in Chromium: the diagram, the matrix, nothing fetched', async (t) => {
	const browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	try {
		const page = await browser.newPage({ viewport: { width: 1200, height: 1600 } });
		const fetched: string[] = [];
		page.on('request', (r) => {
			if (!r.url().startsWith('file:')) fetched.push(r.url());
		});
		await page.goto(`file://${out('nat.html')}`);
		await page.waitForSelector('pre.mermaid svg', { timeout: 20_000 });
		t.is(await page.locator('pre.mermaid svg g.node').count(), 8, '5 nodes and 3 networks drawn');
		const matrix = page.locator('table', { hasText: 'from \\ to' });
		t.deepEqual(await matrix.locator('tr').nth(3).locator('td').allInnerTexts(), [
			'vm',
			'✓ ping',
			'✓ ping',
			'✓ ping',
			'·',
		]);
		t.deepEqual(fetched, []);
		mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
		await page.screenshot({ path: join(ROOT, 'test-artifacts', 'report-nat.png'), fullPage: true });
	} finally {
		await browser.close();
	}
});

const xml = (file: string) =>
	new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(out(file), 'utf8'));

test('results.xml has one test case per expectation; failures carry the measurement and the evidence', (t) => {
	const passing = xml('nat.xml').testsuites;
	t.is(passing.tests, '5');
	t.is(passing.testsuite.testcase.length, 5);
	t.is(passing.failures, '0');
	const failing = xml('failing.xml').testsuites.testsuite;
	t.is(failing.failures, '3');
	const ping = failing.testcase.find((c: { name: string }) => c.name === 'ping host -> vm: reachable');
	t.regex(
		ping.failure.message,
		/^measured unreachable: 10\.0\.2\.15 is behind host's NAT: it lives inside host's NAT engine/,
	);
	t.regex(ping.failure['#text'], /host\$ ping -c 3 10\.0\.2\.15/);
	t.false(readFileSync(out('failing.xml'), 'utf8').includes('hunter2'));
});

test('`labcheck report` renders a saved run again, identical', async (t) => {
	const again = await labcheck(['report', out('nat.json'), '--report', out('again.md')]);
	t.is(again.exitCode, 0, again.stderr as string);
	t.is(readFileSync(out('again.md'), 'utf8'), readFileSync(out('nat.md'), 'utf8'));
	const wrong = await labcheck(['report', out('nat.md')]);
	t.is(wrong.exitCode, 2);
});

test('a results file of the first format (each fact two or three times) still renders, identically', async (t) => {
	// test/golden/results-v1: a run of scenarios/routed.yaml with one wrong expectation and a `* -> host: auto` line,
	// saved with its report.md by labcheck before format 2.
	const golden = join(ROOT, 'test/golden/results-v1');
	const again = await labcheck(['report', join(golden, 'routed.json'), '--report', out('v1.md')]);
	t.is(again.exitCode, 1, 'the saved run had one wrong expectation');
	t.is(readFileSync(out('v1.md'), 'utf8'), readFileSync(join(golden, 'routed.md'), 'utf8'));
	const v2 = JSON.parse(readFileSync(out('nat.json'), 'utf8'));
	t.is(v2.format, 'labcheck-results/2');
	t.false('id' in v2.results[0].check, "a result's flat fields are not written again in its check");
});

test('`labcheck diff` shows which cells changed between two runs', async (t) => {
	const same = await labcheck(['diff', out('nat.json'), out('nat.json')]);
	t.is(same.exitCode, 0);
	t.is(same.stdout, 'no connectivity changed\n');
	const data = JSON.parse(readFileSync(out('nat.json'), 'utf8'));
	const cell = data.results.find((r: { id: string }) => r.id === 'ping host -> vm');
	cell.actual = 'reachable';
	cell.status = 'ok';
	writeFileSync(out('changed.json'), JSON.stringify(data));
	const changed = await labcheck(['diff', out('nat.json'), out('changed.json')]);
	t.is(changed.exitCode, 1);
	const [cellLine, beforeLine, afterLine] = String(changed.stdout).trimEnd().split('\n');
	t.is(cellLine, '~ ping host -> vm: unreachable (filtered) → reachable (ok)');
	t.regex(beforeLine, /^ {4}.*nat\.json \(lab \w{4}\): no answer within 250 ms.* — 10\.0\.2\.15 is behind host's NAT/);
	t.regex(afterLine, /^ {4}.*changed\.json \(lab \w{4}\): /, 'both evidences, cell by cell');
});

test('`labcheck ci github` and `ci gitlab` write a job per scenario: install, run, keep the reports', async (t) => {
	const gh = await labcheck(['ci', 'github', 'scenarios/nat.yaml', 'scenarios/bridge.yaml', '-o', out('wf.yml')]);
	t.is(gh.exitCode, 0, gh.stderr as string);
	const wf = parse(readFileSync(out('wf.yml'), 'utf8'));
	const job = wf.jobs.lab;
	t.deepEqual(job.strategy.matrix.scenario, ['scenarios/nat.yaml', 'scenarios/bridge.yaml']);
	t.false(job.strategy['fail-fast']);
	const runs = job.steps.map((s: { run?: string }) => s.run).filter(Boolean);
	t.deepEqual(runs.slice(0, 3), [
		'npm ci',
		'sudo npx labcheck doctor --fix',
		'sudo npx labcheck run "${{ matrix.scenario }}" ' +
			'--report report.md --html report.html --junit results.xml --json results.json',
	]);
	t.true(runs.includes('cat report.md >> "$GITHUB_STEP_SUMMARY"'));
	t.is(job.steps.at(-1).uses, 'actions/upload-artifact@v4');
	const gl = await labcheck(['ci', 'gitlab', '--stdout']);
	const glJob = parse(gl.stdout as string).labcheck;
	t.is(glJob.parallel.matrix[0].SCENARIO.length, readdirSync(join(ROOT, 'scenarios')).length, 'every shipped scenario');
	t.is(glJob.artifacts.reports.junit, 'results.xml');
});

test('a big run: the matrix summarised, what failed listed; the heat map opens evidence', async (t) => {
	// 30 hosts, the first two with a security group that drops ICMP, every pair expected reachable: 870 checks, 114 fail.
	const lines = ['name: thirty', 'networks: { lan: { subnet: 10.0.0.0/24 } }', 'nodes:'];
	for (let i = 1; i <= 30; i++)
		lines.push(`  h${i}: { kind: host, on: lan, address: 10.0.0.${i + 10}${i <= 2 ? ', security_group: []' : ''} }`);
	lines.push('expect:', '  - ping * -> *: { expect: reachable, count: 1 }');
	writeFileSync(out('thirty.yaml'), `${lines.join('\n')}\n`);
	const run = await labcheck(['run', out('thirty.yaml'), '--report', out('thirty.md'), '--html', out('thirty.html')]);
	t.is(run.exitCode, 1);
	t.regex(run.stdout, /30 × 30 matrix, \d+ columns wide \(the terminal has 160\)/);
	t.regex(run.stdout, /h1 … h2 \(2 sources\): ✗ 29 {2} 29 failing /);
	t.regex(run.stdout, /h3 … h30 \(28 sources\): ✓ 27 {2}✗ 2 {2} 2 failing /);
	t.regex(run.stdout, /… and 94 more failing/);
	const md = readFileSync(out('thirty.md'), 'utf8');
	t.regex(md, /\| h1 … h2 \(2\) \| 0 \| 29 \| \*\*⚠ 29\*\* \|/);
	t.regex(md, /### 114 failed\n/);
	t.regex(md, /<details><summary>756 held<\/summary>/, 'what held, collapsed');
	t.is((md.match(/<details id="e\d+">/g) ?? []).length, 114, 'evidence for what failed only');
	const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
	try {
		const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
		await page.goto(`file://${out('thirty.html')}`);
		const heat = page.locator('div.heat');
		t.is(await heat.locator('.c').count(), 900, 'a square per cell');
		t.is(await heat.locator('a.bad').count(), 114, 'a red, clickable square per failing cell');
		const first = heat.locator('a.bad').first();
		t.regex((await first.getAttribute('title')) ?? '', /^ping h1 -> h2: unreachable \(expected reachable\)$/);
		await first.click();
		const target = page.locator(`details${new URL(page.url()).hash}`);
		t.regex((await target.locator('summary').textContent()) ?? '', /ping h1 -> h2/);
		t.true(await target.isVisible());
	} finally {
		await browser.close();
	}
	// Cells with several probes: one mark each, in a legend's order, instead of "✓ dns ✓ dns:5353 ✗ udp:1234".
	const dns = await labcheck(['run', 'scenarios/dns.yaml', '--no-report']);
	t.regex(dns.stdout, /each cell: one mark per probe, in this order: dns dns:5353 udp:1234 ssh:1234 udp:53 udp:7/);
	// neighbour → host: dns:5353 ✓, udp:1234 ✗, ssh:1234 ✓; neighbour → vm: udp:53 ✗.
	t.regex(dns.stdout, /\nneighbour +·✓✗✓·· +· +····✗· *\n/);
});

test('JSON output redacts secret keys and private keys; other texts as JSON.stringify writes them', async (t) => {
	const { redact, redactedJson } = await import('../src/run/redact.js');
	const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----';
	const secret = { a: 1, node: { Password: 'hunter2', api_key: 'k', note: `key: ${key}` }, list: [{ token: 't' }] };
	t.deepEqual(JSON.parse(redactedJson(secret, 2)), redact(secret));
	t.false(redactedJson(secret).includes('hunter2'));
	t.false(redactedJson(secret).includes('b3Blbn'));
	const plain = { a: 'password is not a key here', b: [1, { c: null }], d: 'x"password":y' };
	t.is(redactedJson(plain, 2), JSON.stringify(plain, undefined, 2));
	t.is(redactedJson(plain), JSON.stringify(plain));
});
