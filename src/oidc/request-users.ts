import type { UserRecord, UserStore } from '../domain/ports.ts';

const usersOfRequest = Symbol('users read by this request');

/**
 * A user read at most once per request: the engine's account lookup and the MFA decision
 * of the same request share the record. Kept on the request's own context, so nothing
 * outlives the request or reaches another one.
 */
export function userOfRequest(ctx: object, users: UserStore, id: string): Promise<UserRecord | null> {
  const held = ctx as { [usersOfRequest]?: Map<string, Promise<UserRecord | null>> };
  const read = (held[usersOfRequest] ??= new Map());
  let user = read.get(id);
  if (!user) {
    user = users.findById(id);
    read.set(id, user);
  }
  return user;
}
