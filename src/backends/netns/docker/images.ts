// Images without a registry: labcheck/base is busybox imported from a local rootfs; recipes are built
// by the lab's engine; any other image is copied from the machine's own Docker engine when it has it.
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { BackendError, EnvironmentError } from '../../../errors.js';
import { BASE_IMAGE } from '../../../plan/docker.js';
import type { PlanImage } from '../../../plan/types.js';

const CACHE = '/var/cache/labcheck';
const BUSYBOX = '/bin/busybox';
const SYSTEM_SOCKET = '/var/run/docker.sock';

/** Follows a Docker progress stream to its end; throws on the first error it reports. */
export function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<unknown[]> {
	return new Promise((resolve, reject) => {
		docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
			const failed = error?.message ?? output.find((o) => o.error)?.error;
			if (failed) reject(new BackendError(`${what}: ${failed.trim()}`));
			else resolve(output);
		});
	});
}

/** The cached rootfs tarball of labcheck/base: busybox and its applets, nothing else. */
async function baseTarball(): Promise<string> {
	if (!existsSync(BUSYBOX))
		throw new EnvironmentError(
			'building labcheck/base needs busybox',
			'run `npx labcheck doctor --fix` (or apt-get install busybox-static)',
		);
	const version = (await execa(BUSYBOX, [], { reject: false })).stdout.split('\n')[0].replace(/\W+/g, '-').slice(0, 40);
	const tarball = join(CACHE, `base-${version}.tar`);
	if (existsSync(tarball)) return tarball;
	await mkdir(CACHE, { recursive: true });
	const root = await mkdtemp(join(tmpdir(), 'labcheck-rootfs-'));
	try {
		for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'usr/bin', 'var'])
			await mkdir(join(root, dir), { recursive: true });
		await copyFile(BUSYBOX, join(root, 'bin/busybox'));
		await execa('chroot', [root, '/bin/busybox', '--install', '-s', '/bin']);
		await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
		await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
		await execa('tar', ['-C', root, '-cf', `${tarball}.tmp`, '.']);
		await execa('mv', [`${tarball}.tmp`, tarball]);
	} finally {
		await rm(root, { recursive: true, force: true });
	}
	return tarball;
}

export async function ensureBaseImage(docker: Docker): Promise<void> {
	if (await hasImage(docker, BASE_IMAGE)) return;
	const [repo] = BASE_IMAGE.split(':');
	const stream = await docker.importImage(createReadStream(await baseTarball()), {
		repo,
		tag: 'latest',
		changes: ['CMD ["sh"]'],
	} as object);
	await follow(docker, stream, 'import labcheck/base');
}

const hasImage = (docker: Docker, name: string) =>
	docker
		.getImage(name)
		.inspect()
		.then(
			() => true,
			() => false,
		);

export async function buildImage(docker: Docker, image: PlanImage, workDir: string): Promise<void> {
	await ensureBaseImage(docker);
	const context = join(workDir, `build-${image.name.replace(/\W/g, '_')}`);
	await mkdir(context, { recursive: true });
	await writeFile(join(context, 'Dockerfile'), `${image.dockerfile.trim()}\n`);
	const stream = await docker.buildImage({ context, src: ['Dockerfile'] }, { t: image.name, rm: true, forcerm: true });
	await follow(docker, stream, `build ${image.name}`);
}

/** Makes `name` available to the lab's engine: base, recipe, or copied from the machine's own engine. */
export async function ensureImage(
	docker: Docker,
	socket: string,
	name: string,
	recipes: PlanImage[],
	workDir: string,
): Promise<void> {
	if (name === BASE_IMAGE || name === `${BASE_IMAGE}:latest`) return ensureBaseImage(docker);
	if (await hasImage(docker, name)) return;
	const recipe = recipes.find((r) => r.name === name);
	if (recipe) return buildImage(docker, recipe, workDir);
	if (existsSync(SYSTEM_SOCKET)) {
		const copy = await execa(
			'sh',
			['-c', `docker -H unix://${SYSTEM_SOCKET} save "$0" | docker -H unix://${socket} load`, name],
			{ reject: false },
		);
		if (copy.exitCode === 0) return;
	}
	throw new BackendError(
		`image "${name}" is not available: no registry is reachable, and neither the scenario's images ` +
			"nor this machine's Docker engine has it",
		`build it from a recipe under \`images:\`, or use ${BASE_IMAGE}`,
	);
}
