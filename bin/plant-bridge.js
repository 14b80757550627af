#!/usr/bin/env node
// The CLI runs the compiled sidecar (`npm ci` builds it through the "prepare" script).
import "../dist/sidecar/src/run.js";
