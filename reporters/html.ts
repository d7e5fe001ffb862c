// report.html: the Markdown report rendered with markdown-it into one self-contained file — styles and
// the Mermaid renderer inlined, nothing fetched — that opens offline in any browser.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Reporter, RunSummary } from '../src/run/types.js';
import { renderMarkdown } from './markdown.js';

const require = createRequire(import.meta.url);

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } code, pre { background: #f6f8fa; border-radius: 4px; }
pre { padding: 10px; overflow-x: auto; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre.mermaid { background: none; text-align: center; } h1 { border-bottom: 1px solid #d0d7de; }
.heat { display: grid; gap: 1px; overflow-x: auto; margin: 1em 0; }
.c { display: inline-block; width: 7px; height: 7px; } .ok { background: #2da44e; } .no { background: #d4a72c; }
.bad { background: #cf222e; } .none { background: #eaeef2; } .legend .c { margin: 0 2px 0 8px; }`;

export async function renderHtml(summaries: RunSummary[]): Promise<string> {
	const { default: MarkdownIt } = await import('markdown-it');
	const md = new MarkdownIt({ html: true, linkify: false });
	const fence = md.renderer.rules.fence!;
	md.renderer.rules.fence = (tokens, idx, options, env, self) =>
		tokens[idx].info.trim() === 'mermaid'
			? `<pre class="mermaid">${md.utils.escapeHtml(tokens[idx].content)}</pre>\n`
			: fence(tokens, idx, options, env, self);
	const body = summaries.map((s) => md.render(renderMarkdown(s, { html: true }))).join('\n<hr>\n');
	const renderer = (await readFile(require.resolve('mermaid/dist/mermaid.min.js'), 'utf8')).replace(
		/<\/script/gi,
		'<\\/script',
	);
	const title = summaries.map((s) => s.plan.name).join(', ');
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${md.utils.escapeHtml(title)} — labcheck report</title>
<style>${STYLE}</style></head>
<body>
${body}
<script>${renderer}</script>
<script>mermaid.initialize({ startOnLoad: true, securityLevel: 'strict', theme: 'neutral' });</script>
</body></html>
`;
}

export function htmlReporter(path: string): Reporter {
	const runs: RunSummary[] = [];
	return {
		async onRunEnd(summary) {
			runs.push(summary);
			await writeFile(path, await renderHtml(runs));
		},
	};
}
