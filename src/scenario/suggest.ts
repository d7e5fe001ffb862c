import leven from 'leven';

/** The candidate closest to `word` when it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
	let best: string | undefined;
	let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
	for (const candidate of candidates) {
		const d = leven(word.toLowerCase(), candidate.toLowerCase());
		if (d < bestDistance) [best, bestDistance] = [candidate, d];
	}
	return best;
}

export const didYouMean = (word: string, candidates: Iterable<string>): string | undefined => {
	const c = closest(word, candidates);
	return c ? `did you mean "${c}"?` : undefined;
};
