#!/usr/bin/env node
// Installed entry point: runs the bundled CLI.
import "../dist/node/cli.js";
