/** Who an admin change made from the command line is recorded as: `cli:<OS user>` (`cli:unknown` if unset). */
import { userInfo } from 'node:os';

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
