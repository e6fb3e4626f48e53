/**
 * The names shared by the Lua in scripts.ts and the TypeScript that calls it,
 * so that neither side counts positions: scripts.ts declares each script's
 * ARGV and the session's fields as Lua locals from these lists, and
 * store.ts builds each ARGV array from the same lists (`argv`).
 * test/redis-scripts.test.ts checks that no script reads a position directly.
 */

/**
 * A session, as the MessagePack array Redis holds (Lua's 1-based index = the
 * position here + 1). In Lua each is a local in upper snake case: `s[EXPIRES]`,
 * `s[WINDOW_START]` (`luaField`).
 */
export const sessionFields = [
  /** 1: the current refresh token's jti. */
  'jti',
  /** 2: the jti it replaced ('' before the first rotation). */
  'previous',
  /** 3: when the current jti was issued (= when the previous was rotated out). */
  'issued',
  /** 4: last used. */
  'used',
  /** 5: created. */
  'created',
  /** 6: the current refresh token's expiry. */
  'expires',
  /** 7: the session's absolute expiry. */
  'ends',
  /** 8: IP ('' when unknown). */
  'ip',
  /** 9: user agent ('' when unknown). */
  'ua',
  /** 10: claims as JSON ('' when none). */
  'claims',
  /** 11: start of the refresh-counting window. */
  'windowStart',
  /** 12: refreshes in the window. */
  'refreshes',
  /**
   * 13: the latest issue time handed out, only while later than `issued` (the
   * clock stepped back): only a later token is a successor the store lost.
   */
  'latest',
  /** 14: the DPoP key thumbprint the session is bound to ('' or absent, as in 0.5's sessions: unbound). */
  'jkt',
] as const;

export type SessionField = (typeof sessionFields)[number];

/**
 * ARGV[1..3] of every session script: the caller's time in Unix ms ('' for
 * Redis's own TIME), the revocation record's ttl in seconds, and the deadline
 * (Unix ms on Redis's clock after which the script answers 'late'; '' for none).
 */
export const commonArgs = ['callerMs', 'revocationTtl', 'deadline'] as const;

/** Each session script's own ARGV, from ARGV[4] on (scripts.ts says what each means). */
export const scriptArgs = {
  create: [
    'sid',
    'jti',
    'ttl',
    'maxLifetime',
    'claims',
    'ip',
    'ua',
    'maxSessions',
    'checkAge',
    'checkBegan',
    'jkt',
    'proofJti',
    'proofTtl',
  ],
  rotate: [
    'sid',
    'presented',
    'nextJti',
    'ttl',
    'grace',
    'ip',
    'ua',
    'replaceClaims',
    'claims',
    'window',
    'presentedIat',
    'proofJkt',
    'proofJti',
    'proofTtl',
  ],
  revoke: ['sid', 'presented', 'grace', 'presentedIat'],
  revokeAll: ['userId', 'keep', 'cutoffTtl'],
  list: [],
} as const;

export type SessionScript = keyof typeof scriptArgs;

/** A script's arguments by name: the compiler asks for each, exactly once. */
export type ArgsOf<S extends SessionScript> = Record<
  (typeof commonArgs)[number] | (typeof scriptArgs)[S][number],
  string
>;

/** The ARGV array of `script`, in the order its Lua declares it. */
export function argv<S extends SessionScript>(script: S, args: ArgsOf<S>): string[] {
  const names: readonly (keyof ArgsOf<S>)[] = [...commonArgs, ...scriptArgs[script]];
  return names.map((name) => args[name]);
}

/** The Lua local that holds a field's number: windowStart -> WINDOW_START. */
export function luaField(name: SessionField): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();
}

/** `local a, b = ARGV[1], ARGV[2]` for the names, from ARGV[first]. */
function argvLocals(names: readonly string[], first: number): string {
  return names.length === 0
    ? ''
    : `local ${names.join(', ')} = ${names.map((_, i) => `ARGV[${i + first}]`).join(', ')}`;
}

/** The Lua that opens every session script: the field numbers and the common arguments. */
export const luaPrelude = [
  `local ${sessionFields.map(luaField).join(', ')} = ${sessionFields.map((_, i) => i + 1).join(', ')}`,
  argvLocals(commonArgs, 1),
].join('\n');

/**
 * ARGV of the revocation feed's read-only step script (scripts.ts `step`):
 * `after` the id of the last entry read ('0-0' before any), `count` how many
 * entries at most.
 */
export const stepArgs = ['after', 'count'] as const;

/** The step script's ARGV array, in the order its Lua declares it. */
export function stepArgv(args: Record<(typeof stepArgs)[number], string>): string[] {
  return stepArgs.map((name) => args[name]);
}

/** The Lua that declares the step script's arguments. */
export const luaStepArgs = argvLocals(stepArgs, 1);

/** The Lua that declares `script`'s own arguments (after the prelude). */
export function luaArgs(script: SessionScript): string {
  return argvLocals(scriptArgs[script], commonArgs.length + 1);
}
