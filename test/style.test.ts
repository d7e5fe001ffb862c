// House style is enforced by a tool (`npm run lint`, run before every `npm test`): Biome's formatter and linter, and
// the 120-column limit for what the formatter cannot wrap. This checks the limit itself bites.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('style');
const check = (file: string) =>
	execa(process.execPath, [join(ROOT, 'scripts/line-length.mjs'), file], { reject: false, cwd: ROOT });

test('a line of 121 columns fails the lint, naming file and line; 120 pass; tabs count as Biome counts', async (t) => {
	const long = join(tmp, 'long.ts');
	writeFileSync(long, `const a = 1;\nexport const s = '${'x'.repeat(121 - 20)}';\n`);
	const failed = await check(long);
	t.is(failed.exitCode, 1);
	t.regex(failed.stderr, /long\.ts:2: 121 columns \(at most 120\)/);
	const fits = join(tmp, 'fits.ts');
	writeFileSync(fits, `export const s = '${'x'.repeat(120 - 20)}';\n`);
	t.is((await check(fits)).exitCode, 0);
	const tabbed = join(tmp, 'tabbed.ts');
	writeFileSync(tabbed, `\t\texport const s = '${'x'.repeat(121 - 20 - 4)}';\n`);
	t.is((await check(tabbed)).exitCode, 1, 'two tabs are 4 columns');
});

test('the tree passes npm run lint', async (t) => {
	const lint = await execa('npm', ['run', 'lint', '--silent'], { reject: false, cwd: ROOT, all: true });
	t.is(lint.exitCode, 0, lint.all);
});
