// OpenSSH's sshd for a lab node: its own host key, config, pid file and log, key login with the per-run key.
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export const SSHD = '/usr/sbin/sshd';

export interface RunKey {
	privateFile: string;
	publicKey: string;
}

/** A key pair for this run; the private half stays in the run's state directory (mode 600), never in a report. */
export async function createRunKey(dir: string): Promise<RunKey> {
	const privateFile = join(dir, 'id_ed25519');
	await keygen(privateFile, 'labcheck-run');
	return { privateFile, publicKey: (await readFile(`${privateFile}.pub`, 'utf8')).trim() };
}

// OpenSSH's own ssh-keygen: keys ssh2 generates are now and then refused by sshd ("error in libcrypto").
// No standard input: ssh-keygen must never wait at a prompt.
const keygen = (file: string, comment: string) =>
	execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], {
		stdin: 'ignore',
		timeout: 30_000,
	});

/** Writes the node's sshd files under `dir` and returns the command line that runs sshd in the foreground. */
export async function prepareSshd(dir: string, port: number, key: RunKey): Promise<string[]> {
	await mkdir(dir, { recursive: true, mode: 0o700 });
	await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
	// A node keeps its host key across a restart of its sshd (a step's `service start`), as a real machine does.
	if (
		!(await access(join(dir, 'host_ed25519')).then(
			() => true,
			() => false,
		))
	)
		await keygen(join(dir, 'host_ed25519'), 'labcheck-host');
	await writeFile(join(dir, 'authorized_keys'), `${key.publicKey}\n`, { mode: 0o600 });
	const config = [
		`Port ${port}`,
		'ListenAddress 0.0.0.0',
		`HostKey ${join(dir, 'host_ed25519')}`,
		`PidFile ${join(dir, 'sshd.pid')}`,
		`AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
		'PermitRootLogin prohibit-password',
		'PasswordAuthentication no',
		'KbdInteractiveAuthentication no',
		'UsePAM no',
		'StrictModes no',
		'UseDNS no',
		'PrintMotd no',
		'LogLevel INFO',
	].join('\n');
	await writeFile(join(dir, 'sshd_config'), `${config}\n`);
	return [SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')];
}
