#!/usr/bin/env node
// The installed command. It exists before the build so pnpm can link it; the program is
// dist/bin.js, compiled by `pnpm build`.
import '../dist/bin.js';
