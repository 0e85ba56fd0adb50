/**
 * How many bytes per value V8's scavenges promoted while values churned through a structure (decision 0191);
 * measured in a child process with `--expose-gc` (test/helpers/churn-child.ts).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ChurnKind = 'set' | 'list' | 'flights';

export function promotedPerValue(kind: ChurnKind): number {
  const child = fileURLToPath(new URL('./churn-child.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', child, kind], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { promotedPerValue: number }).promotedPerValue;
}
