#!/usr/bin/env node
// Runs the compiled CLI (npm run build compiles TypeScript to dist/).
require('../dist/src/cli/index.js');
