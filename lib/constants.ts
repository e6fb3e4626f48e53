/** `typ` header of access tokens (RFC 9068). */
export const ACCESS_TYP = 'at+jwt';
/** `typ` header of refresh tokens: never accepted where an access token is expected. */
export const REFRESH_TYP = 'rt+jwt';

/** Longest token we try to parse; anything longer is rejected unread (and never issued). */
export const MAX_TOKEN_LENGTH = 8192;
