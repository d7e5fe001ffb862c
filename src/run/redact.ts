// Secrets never reach a report or a log: values of secret-looking keys, and private keys anywhere in text.
const SECRET_KEY = /^(password|passwd|passphrase|secret|token|private[-_]?key|credentials?|api[-_]?key)$/i;
const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

export const REDACTED = '«redacted»';

export function redactText(text: string): string {
	return text.includes('PRIVATE KEY-----') ? text.replace(PRIVATE_KEY_BLOCK, REDACTED) : text;
}

// A secret-looking key as JSON writes it (`"password":`), anywhere in a text: a text without one, and without a
// private key, needs nothing redacted.
const SECRET_IN_JSON = new RegExp(`"${SECRET_KEY.source.slice(1, -1)}":`, 'i');

/** JSON text of `value` as `redact` would leave it, without copying it first (a big run has 100,000 results). */
export function redactedJson(value: unknown, indent?: number): string {
	// Most texts hold no secret: written at once, several times faster than with a replacer called for every value.
	const plain = JSON.stringify(value, undefined, indent);
	if (plain === undefined || (!SECRET_IN_JSON.test(plain) && !plain.includes('PRIVATE KEY-----'))) return plain;
	return JSON.stringify(
		value,
		(key, v) => (SECRET_KEY.test(key) && v !== undefined ? REDACTED : typeof v === 'string' ? redactText(v) : v),
		indent,
	);
}

export function redact<T>(value: T): T {
	if (typeof value === 'string') return redactText(value) as T;
	if (Array.isArray(value)) return value.map(redact) as T;
	if (value && typeof value === 'object') {
		return Object.fromEntries(
			Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== undefined ? REDACTED : redact(v)]),
		) as T;
	}
	return value;
}
