#!/usr/bin/env node
// The `llm-gateway` command: registers tsx so the TypeScript sources run directly, then runs src/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
