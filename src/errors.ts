/** Moved to core/errors.ts (the error catalogue lives below every feature). */
export * from './core/errors.js';
