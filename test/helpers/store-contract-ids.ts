/** Ids and settings shared by the store contract's files. */
let counter = 0;

/** A fresh id, unique in this process run: `kind-pid-n`. */
export const contractIds = (kind: string): string => `${kind}-${process.pid}-${++counter}`;

/** Seconds a revocation is remembered in the contract's calls. */
export const REVOCATION_TTL = 900;

/** Seconds a credential cut-off is kept in the contract's calls (the core passes 301). */
export const CREDENTIAL_TTL = 301;
