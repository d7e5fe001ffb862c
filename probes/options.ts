// Options more than one probe reads, defined once; each probe lists the options it reads.
import { z } from 'zod';
import { text } from '../src/scenario/text.js';

export const timeout = z
	.int()
	.min(10)
	.max(60000)
	.describe('Milliseconds before a silent target counts as filtered.')
	.optional();
export const match = text().describe('Text the output must contain, e.g. "result = 22".').optional();
export { text };
