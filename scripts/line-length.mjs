#!/usr/bin/env node
// The 120-column limit, for what Biome's formatter does not wrap (strings, template literals, comments):
// every line of the project's TypeScript and JavaScript, a tab counted as Biome counts it (2 columns).
// Part of `npm run lint`; exits 1 naming each line over the limit. `node scripts/line-length.mjs [FILE...]`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LIMIT = 120;
const TAB = 2;
// The files named, or every tracked and new one of the project.
const named = process.argv.slice(2);
const files =
	named.length > 0
		? named
		: execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs', '*.js'], {
				encoding: 'utf8',
			})
				.split('\n')
				.filter((f) => f && !f.startsWith('dist/'));
let over = 0;
for (const file of files) {
	let text;
	try {
		text = readFileSync(file, 'utf8');
	} catch {
		continue; // deleted in the work tree
	}
	for (const [i, line] of text.split('\n').entries()) {
		const columns = [...line].reduce((n, c) => n + (c === '\t' ? TAB : 1), 0);
		if (columns > LIMIT) {
			over++;
			console.error(`${file}:${i + 1}: ${columns} columns (at most ${LIMIT})`);
		}
	}
}
if (over > 0) {
	console.error(`\n${over} line(s) over ${LIMIT} columns: wrap them (a long string: split it with +)`);
	process.exit(1);
}
