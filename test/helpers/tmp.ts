// Each test file's own files live in one directory, removed once its tests are done, passed or failed: a test run
// leaves nothing in /tmp (they used to stay, ~1.5 GB over a few hundred runs).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(name: string): string {
	const dir = mkdtempSync(join(tmpdir(), `labcheck-${name}-`));
	test.after.always(() => rmSync(dir, { recursive: true, force: true }));
	return dir;
}
