// Reporter registry: each reporter is one file implementing the Reporter hooks.
export { htmlReporter } from './html.js';
export { jsonReporter } from './json.js';
export { junitReporter } from './junit.js';
export { markdownReporter } from './markdown.js';
export { terminalReporter } from './terminal.js';
