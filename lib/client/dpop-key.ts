/**
 * The browser's DPoP key (RFC 9449, issue 16): one non-extractable ECDSA
 * P-256 key pair per origin, made with WebCrypto once and kept in IndexedDB,
 * so that it survives reloads and the tabs of the origin share it. Page
 * script can sign with it but never read the private key: a token copied
 * out of the page is useless without it. (A live XSS can still use the key
 * in the page; that, DPoP does not stop.)
 */
import {
  defaultIndexedDB,
  deleteRecord,
  openDatabase,
  readOrAdd,
  readRecord,
  type IdbDatabaseLike,
  type IdbFactoryLike,
} from './dpop-idb.js';
import { fail, publicJwkOf, thumbprintOf, type PublicJwk, type WebCryptoKeyPair } from './dpop-jwk.js';

export type { IdbFactoryLike } from './dpop-idb.js';

export interface DpopKeyOptions {
  /** The IndexedDB database that holds the key. Default `'express-token-pair'`. */
  database?: string | undefined;
  /**
   * The object store in it. Default `'dpop-key'`. Two apps on one origin that
   * must not share a key give each its own store (or database).
   */
  store?: string | undefined;
  /**
   * The IndexedDB to use: default `globalThis.indexedDB`; `false` keeps the
   * key in memory only (see {@link DpopKey.storage}).
   */
  indexedDB?: IdbFactoryLike | false | undefined;
}

/** The key pair in use, with what a proof and a display need from it. */
export interface DpopKeyState {
  readonly keyPair: WebCryptoKeyPair;
  /** Its public JWK: kty, crv, x, y. */
  readonly jwk: PublicJwk;
  /** Its RFC 7638 thumbprint: the `jkt` a server binds the session to (`cnf.jkt`). */
  readonly jkt: string;
}

export interface DpopKey {
  /** The key, generated or loaded on first use and kept for the page's life (until `reset()`). */
  current(): Promise<DpopKeyState>;
  /** The key's `jkt` (RFC 7638 thumbprint), e.g. to show beside the session's `cnf.jkt`. */
  thumbprint(): Promise<string>;
  /**
   * Where the key lives: `'indexeddb'` (survives reloads, shared by the tabs),
   * or `'memory'`, the fallback where IndexedDB is missing or fails (some
   * private modes, Node, `indexedDB: false`). In memory the key lives as long
   * as the page: a reload, or another tab, gets another key, and the server
   * then refuses the session bound to the old one (the user logs in again).
   */
  storage(): Promise<'indexeddb' | 'memory'>;
  /**
   * Forgets the key (logout everywhere, a key thought compromised): deleted
   * from IndexedDB, and the other tabs told to drop theirs; the next use
   * makes a new one. Rejects if the stored key could not be deleted.
   */
  reset(): Promise<void>;
  /** Stops listening to the other tabs. The key itself stays where it is. */
  close(): void;
}

/** The one record of the store. */
const RECORD = 'p256';
const KNOWN = ['database', 'store', 'indexedDB'];

function name(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '') return fail(`dpop ${option} must be a non-empty string`);
  return value;
}

function parseKeyOptions(options: DpopKeyOptions): {
  database: string;
  store: string;
  factory: IdbFactoryLike | undefined;
} {
  if (typeof options !== 'object' || options === null) fail('createDpopKey(options) needs an options object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) fail(`unknown dpop key option ${key}`);
  }
  const { indexedDB } = options;
  if (
    indexedDB !== undefined &&
    indexedDB !== false &&
    (typeof indexedDB !== 'object' || indexedDB === null || typeof indexedDB.open !== 'function')
  ) {
    fail('dpop indexedDB must be an IndexedDB factory (with open()) or false');
  }
  return {
    database: name(options.database, 'database', 'express-token-pair'),
    store: name(options.store, 'store', 'dpop-key'),
    factory: indexedDB === false ? undefined : (indexedDB ?? defaultIndexedDB()),
  };
}

/** A non-extractable ECDSA P-256 pair, as IndexedDB gives it back: anything else is not ours, and is replaced. */
function isKeyPair(value: unknown): value is WebCryptoKeyPair {
  if (typeof value !== 'object' || value === null) return false;
  const { privateKey, publicKey } = value as Partial<Record<'privateKey' | 'publicKey', unknown>>;
  const isP256 = (key: unknown, type: string, usage: string): boolean => {
    if (typeof key !== 'object' || key === null) return false;
    const {
      algorithm,
      type: kind,
      usages,
    } = key as { algorithm?: { name?: unknown; namedCurve?: unknown }; type?: unknown; usages?: unknown };
    return (
      algorithm?.name === 'ECDSA' &&
      algorithm.namedCurve === 'P-256' &&
      kind === type &&
      Array.isArray(usages) &&
      usages.includes(usage)
    );
  };
  return (
    isP256(privateKey, 'private', 'sign') &&
    (privateKey as { extractable?: unknown }).extractable === false &&
    isP256(publicKey, 'public', 'verify')
  );
}

async function generate(): Promise<WebCryptoKeyPair> {
  const subtle = (globalThis as { crypto?: { subtle?: unknown } }).crypto?.subtle;
  if (subtle === undefined) fail('DPoP needs WebCrypto (crypto.subtle): a secure context (https, or localhost)');
  // Non-extractable: the private key can sign, and never be exported. (The public key is exportable regardless.)
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

async function describe(keyPair: WebCryptoKeyPair): Promise<DpopKeyState> {
  const jwk = await publicJwkOf(keyPair.publicKey);
  return { keyPair, jwk, jkt: await thumbprintOf(jwk) };
}

/** A message with nothing in it but "drop your key": forged, it only makes a tab read the stored key again. */
const RESET_MESSAGE = { etp: 1, type: 'dpop-reset' } as const;

interface ChannelLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
  unref?: () => void;
}

/**
 * The DPoP key holder. Nothing happens until first use. Then: the key stored
 * under `database`/`store` if there is one; else a new pair, written in the
 * same IndexedDB transaction that checked for one, so two tabs starting at
 * once end with ONE key (IndexedDB runs the two transactions one after the
 * other: the second finds the first's key and takes it).
 */
export function createDpopKey(options: DpopKeyOptions = {}): DpopKey {
  const config = parseKeyOptions(options);
  let memoryOnly = config.factory === undefined;
  let db: Promise<IdbDatabaseLike> | undefined;
  let loading: Promise<DpopKeyState & { storage: 'indexeddb' | 'memory' }> | undefined;
  let resetting: Promise<void> | undefined;
  let channel: ChannelLike | undefined;
  let closed = false;

  function listen(): void {
    const Channel = (globalThis as unknown as { BroadcastChannel?: new (channelName: string) => ChannelLike })
      .BroadcastChannel;
    if (channel !== undefined || closed || typeof Channel !== 'function') return;
    channel = new Channel(`express-token-pair-dpop:${config.database}/${config.store}`);
    channel.unref?.();
    channel.onmessage = (event) => {
      const data = event.data as { etp?: unknown; type?: unknown } | null;
      if (data?.etp === RESET_MESSAGE.etp && data.type === RESET_MESSAGE.type) loading = undefined;
    };
  }

  function database(): Promise<IdbDatabaseLike> {
    db ??= openDatabase(config.factory!, config.database, config.store, () => {
      db = undefined;
    });
    const opened = db;
    opened.catch(() => {
      if (db === opened) db = undefined;
    });
    return opened;
  }

  async function load(): Promise<DpopKeyState & { storage: 'indexeddb' | 'memory' }> {
    await resetting?.catch(() => undefined);
    if (!memoryOnly) {
      try {
        const opened = await database();
        listen();
        const stored = await readRecord(opened, config.store, RECORD);
        // Generated outside the transaction: an IndexedDB transaction commits when it has nothing pending, so
        // it cannot wait for generateKey. The readwrite transaction then re-reads and keeps any key found.
        const keyPair = isKeyPair(stored)
          ? stored
          : await readOrAdd(opened, config.store, RECORD, await generate(), isKeyPair);
        return { ...(await describe(keyPair)), storage: 'indexeddb' };
      } catch (error) {
        if (error instanceof TypeError && error.message.startsWith('express-token-pair/client:')) throw error;
        // IndexedDB missing a feature, refused (private mode), or failing: a key in memory, for this page's life.
        memoryOnly = true;
      }
    }
    return { ...(await describe(await generate())), storage: 'memory' };
  }

  function current(): Promise<DpopKeyState & { storage: 'indexeddb' | 'memory' }> {
    if (loading === undefined) {
      const started = load();
      loading = started;
      // A failure (no WebCrypto here) is not kept: the next use tries again.
      started.catch(() => {
        if (loading === started) loading = undefined;
      });
    }
    return loading;
  }

  async function reset(): Promise<void> {
    loading = undefined;
    if (memoryOnly) return;
    const deleting = (async () => {
      await resetting?.catch(() => undefined);
      let opened: IdbDatabaseLike;
      try {
        opened = await database();
      } catch {
        // IndexedDB cannot be opened here: no key is stored in it to delete. Memory from now on, as load() would.
        memoryOnly = true;
        return;
      }
      await deleteRecord(opened, config.store, RECORD);
      listen();
      channel?.postMessage(RESET_MESSAGE);
    })();
    resetting = deleting;
    try {
      await deleting;
    } finally {
      if (resetting === deleting) resetting = undefined;
    }
  }

  return {
    current: async () => {
      const { keyPair, jwk, jkt } = await current();
      return { keyPair, jwk, jkt };
    },
    thumbprint: async () => (await current()).jkt,
    storage: async () => (await current()).storage,
    reset,
    close() {
      closed = true;
      channel?.close();
      channel = undefined;
    },
  };
}
