/**
 * End users (DESIGN §7): a key allowed to name them (`allow_end_users`) passes the end user in the
 * OpenAI `user` field of the body, or in `X-User-ID`; the request is then accounted to that user and held
 * to the end-user limits (the key's `end_user_limits`, else its team's, its org's, or `tenancy.end_user`
 * of the config) as one more level of the same atomic admission. A key that may not name end users keeps
 * its own user whatever the request says. Runs first in `admit`, after the body is decoded.
 */
import { ValidationError } from '../core/errors.js';
import { holdsGatewayKey } from '../core/secret-shape.js';
import { type Stage, stage } from '../core/stage.js';
import { hasLimits } from './limits.js';

const END_USER = /^[\w.@:+-]{1,128}$/;

/** @example createPipeline({ admit: [endUserStage(), rateLimit.admit, budgets.admit], … }) */
export function endUserStage(): Stage {
  return stage('end_user', (ctx, next) => {
    const principal = ctx.principal;
    if (!principal?.endUsers) return next(ctx);
    const body = ctx.request?.body as { user?: unknown } | undefined;
    const header = ctx.headers['x-user-id'];
    const fromBody = typeof body?.user === 'string' && body.user !== '';
    const named = fromBody
      ? (body?.user as string)
      : typeof header === 'string' && header !== ''
        ? header
        : null;
    if (named === null) return next(ctx);
    if (!END_USER.test(named)) {
      throw new ValidationError(
        'The end user (user field or X-User-ID) must be 1–128 letters, digits or . @ : + - _ characters.',
        fromBody ? 'user' : 'X-User-ID',
      );
    }
    if (holdsGatewayKey(named)) {
      // It would be logged and stored as the user's name (decision 0210); the value is not echoed.
      throw new ValidationError(
        'The end user (user field or X-User-ID) looks like a gateway API key; name end users by an id.',
        fromBody ? 'user' : 'X-User-ID',
      );
    }
    const limits = principal.endUsers;
    ctx.principal = {
      ...principal,
      userId: named,
      levels: hasLimits(limits)
        ? [...(principal.levels ?? []), { level: 'user', id: named, limits }]
        : principal.levels,
    };
    return next(ctx);
  });
}
