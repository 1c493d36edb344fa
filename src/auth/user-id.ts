/**
 * @module auth/user-id
 * What a user id named by hand may look like (dev mode's `X-User-Id`, the stdio MCP server's
 * `TASKCHAT_USER`): short, printable, no spaces, because it ends up in logs and SQL parameters.
 * Token subjects are checked by ./jwt.ts instead (issuers choose their own formats).
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@|-]{1,128}$/;

export const USER_ID_RULE = '1-128 letters, digits or ._:@|-';
