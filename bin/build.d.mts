// Types of bin/build.mjs (plain JavaScript so that it runs before anything is compiled).
export type BuildState = 'fresh' | 'stale' | 'missing';
export function newestSource(root: string): number;
export function buildState(root: string): BuildState;
export function ensureBuild(root: string, log?: (line: string) => void): 'fresh' | 'built' | 'stale-kept';
export function build(root: string, log: (line: string) => void, reason: string, tsc?: string | null): void;
