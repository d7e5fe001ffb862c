// Where labcheck's own files are, the same from the TypeScript output (dist/src/...) and from the
// bundle (dist/bundle/...): the package root is the nearest folder up with labcheck's package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
	for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
		const manifest = join(dir, 'package.json');
		if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'labcheck') return dir;
		if (dirname(dir) === dir) throw new Error('labcheck cannot find its own package.json');
	}
}

export const ROOT = packageRoot();
export const VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
/** The calculator services' entry point, bundled (see `npm run build`). */
export const SERVICE_ENTRY = join(ROOT, 'dist/bundle/services.js');
