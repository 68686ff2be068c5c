#!/usr/bin/env node
"use strict";
// The CLI is TypeScript run in place (like the apps): tsx's CommonJS hook compiles it on require.
require("tsx/cjs");
require("../src/main.ts");
