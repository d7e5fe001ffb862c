// Reporter registry: each reporter is one file implementing the Reporter hooks.
export { jsonReporter } from './json.js';
export { markdownReporter } from './markdown.js';
export { terminalReporter } from './terminal.js';
