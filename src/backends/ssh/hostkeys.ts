// Host keys, checked as OpenSSH checks them: against known_hosts (plain or hashed names, `[host]:port` for other
// ports). A known key passes; a different key for a known host is refused (it may be an attack); an unknown host is
// refused with the fingerprint to pin, unless the run trusts new hosts (ssh's accept-new), which records it.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const defaultKnownHosts = () => join(homedir(), '.ssh', 'known_hosts');

export const fingerprint = (key: Buffer) =>
	`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;

/** The name known_hosts files use for a host and port. */
const hostName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

function names(field: string, name: string): boolean {
	if (field.startsWith('|1|')) {
		const [, , salt, hash] = field.split('|');
		return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
	}
	return field.split(',').includes(name);
}

/** The keys known_hosts holds for a host (as raw key blobs); [] when it knows none. */
function knownKeys(file: string, name: string): Buffer[] {
	if (!existsSync(file)) return [];
	const keys: Buffer[] = [];
	for (const line of readFileSync(file, 'utf8').split('\n')) {
		const fields = line.trim().split(/\s+/);
		if (fields.length < 3 || fields[0].startsWith('#') || fields[0].startsWith('@')) continue;
		if (names(fields[0], name)) keys.push(Buffer.from(fields[2], 'base64'));
	}
	return keys;
}

export type Verdict = { ok: true; added?: string } | { ok: false; why: string; hint: string };

/** Whether `key` may be trusted as the key of host:port. Records it when the host is new and `trustNew`. */
export function checkHostKey(file: string, host: string, port: number, key: Buffer, trustNew: boolean): Verdict {
	const name = hostName(host, port);
	const known = knownKeys(file, name);
	if (known.some((k) => k.equals(key))) return { ok: true };
	const print = fingerprint(key);
	if (known.length > 0)
		return {
			ok: false,
			why: `the host key of ${name} changed (now ${print}): it may be another machine pretending to be it`,
			hint: `if the machine was reinstalled, remove its line from ${file} (ssh-keygen -R '${name}') and run again`,
		};
	if (!trustNew)
		return {
			ok: false,
			why: `${name} is not in ${file}; its host key is ${print}`,
			hint:
				'check that fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ' +
				'then pass --trust-new-hosts to record it',
		};
	const type = key.subarray(4, 4 + key.readUInt32BE(0)).toString();
	mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
	appendFileSync(file, `${name} ${type} ${key.toString('base64')}\n`, { mode: 0o600 });
	return { ok: true, added: `${name} ${print}` };
}
