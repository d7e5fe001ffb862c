// Whether a program can be run: an executable path, or a name found on PATH. No process is spawned.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

export async function installed(command: string): Promise<boolean> {
	const candidates = command.includes('/')
		? [command]
		: (process.env.PATH ?? '')
				.split(':')
				.filter(Boolean)
				.map((dir) => join(dir, command));
	const found = await Promise.all(
		candidates.map((file) =>
			access(file, constants.X_OK).then(
				() => true,
				() => false,
			),
		),
	);
	return found.includes(true);
}
