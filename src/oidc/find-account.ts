import type { FindAccount } from 'oidc-provider';
import type { UserStore } from '../domain/ports.ts';
import { userOfRequest } from './request-users.ts';

/**
 * The provider's view of a user: `sub` is the user id; `profile` and `email` scopes add
 * the matching claims. A disabled or deleted user has no account, so their tokens stop
 * yielding userinfo and refresh fails.
 */
export function createFindAccount(users: UserStore): FindAccount {
  return async (ctx, sub) => {
    const user = await userOfRequest(ctx, users, sub);
    if (!user || user.disabled) return undefined;
    return {
      accountId: user.id,
      async claims() {
        return {
          sub: user.id,
          preferred_username: user.username,
          ...(user.name === undefined ? {} : { name: user.name }),
          ...(user.email === undefined ? {} : { email: user.email, email_verified: user.emailVerified === true }),
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
        };
      },
    };
  };
}
