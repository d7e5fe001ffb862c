// Text a scenario may hold: no control characters (an escape sequence would rewrite the terminal).
import { z } from 'zod';

export const text = () =>
	// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
	z.string().regex(/^[^\x00-\x08\x0b-\x1f\x7f\x9b]*$/, {
		error: 'control characters (escape sequences) are not allowed in text',
	});
