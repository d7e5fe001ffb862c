#!/usr/bin/env node
// The CLI runs from one bundle (npm run build): loading hundreds of small modules would cost it
// a few hundred milliseconds at every start.
import '../dist/bundle/cli.js';
