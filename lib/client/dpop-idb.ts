/**
 * The little of IndexedDB the DPoP key needs, as promises: open a database
 * with a given object store, read-or-add one record atomically, delete it.
 * Typed structurally (Node's types have no IndexedDB), so that the browser's
 * `indexedDB` fits, and a test can pass a fake.
 */

/** A request's handlers; `never` events so that the DOM's handler types fit. */
export interface IdbRequestLike<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: ((event: never) => unknown) | null;
  onerror: ((event: never) => unknown) | null;
}

export interface IdbOpenRequestLike extends IdbRequestLike<IdbDatabaseLike> {
  onupgradeneeded: ((event: never) => unknown) | null;
  onblocked: ((event: never) => unknown) | null;
}

export interface IdbObjectStoreLike {
  get(key: string): IdbRequestLike<unknown>;
  put(value: unknown, key: string): IdbRequestLike<unknown>;
  delete(key: string): IdbRequestLike<unknown>;
}

export interface IdbTransactionLike {
  objectStore(name: string): IdbObjectStoreLike;
  readonly error: unknown;
  oncomplete: ((event: never) => unknown) | null;
  onerror: ((event: never) => unknown) | null;
  onabort: ((event: never) => unknown) | null;
}

export interface IdbDatabaseLike {
  readonly version: number;
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(storeNames: string, mode: 'readonly' | 'readwrite'): IdbTransactionLike;
  close(): void;
  onversionchange: ((event: never) => unknown) | null;
}

/** The browser's `indexedDB`, or a stand-in with its `open`. */
export interface IdbFactoryLike {
  open(name: string, version?: number): IdbOpenRequestLike;
}

/** `globalThis.indexedDB`, if this platform has one (browsers; not Node). */
export function defaultIndexedDB(): IdbFactoryLike | undefined {
  const factory = (globalThis as { indexedDB?: IdbFactoryLike }).indexedDB;
  return typeof factory?.open === 'function' ? factory : undefined;
}

function asError(error: unknown, what: string): Error {
  return error instanceof Error ? error : new Error(`IndexedDB: ${what} failed`, { cause: error });
}

/** Opens `name` at `version` (or its current one), creating `store` on an upgrade. */
function openAt(factory: IdbFactoryLike, name: string, store: string, version?: number): Promise<IdbDatabaseLike> {
  return new Promise((resolve, reject) => {
    const request = version === undefined ? factory.open(name) : factory.open(name, version);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
    };
    request.onsuccess = () => {
      resolve(request.result);
    };
    request.onerror = () => {
      reject(asError(request.error, `opening ${name}`));
    };
    // Another tab holds an older version open: it closes on `versionchange` (below), and this open then goes on.
    request.onblocked = null;
  });
}

/**
 * The database `name`, holding the object store `store`. A database that
 * exists without that store (another store name was configured before) is
 * upgraded to a new version that adds it; two tabs doing so at once make one
 * of them retry. The connection closes itself when another tab upgrades,
 * and `onClosed` is told, so the next use reopens.
 */
export async function openDatabase(
  factory: IdbFactoryLike,
  name: string,
  store: string,
  onClosed: () => void,
): Promise<IdbDatabaseLike> {
  let failure: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      let db = await openAt(factory, name, store);
      if (!db.objectStoreNames.contains(store)) {
        const next = db.version + 1;
        db.close();
        db = await openAt(factory, name, store, next);
      }
      if (db.objectStoreNames.contains(store)) {
        db.onversionchange = () => {
          db.close();
          onClosed();
        };
        return db;
      }
      db.close();
    } catch (error) {
      failure = error;
    }
  }
  throw asError(failure, `opening ${name} with the store ${store}`);
}

/** Resolves with `value()` once `tx` has committed, rejects if it fails or aborts. */
function committed<T>(tx: IdbTransactionLike, value: () => T, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => {
      resolve(value());
    };
    tx.onerror = () => {
      reject(asError(tx.error, what));
    };
    tx.onabort = () => {
      reject(asError(tx.error, `${what} (aborted)`));
    };
  });
}

/** The record `key` of `store`, or `undefined`. */
export function readRecord(db: IdbDatabaseLike, store: string, key: string): Promise<unknown> {
  const tx = db.transaction(store, 'readonly');
  const request = tx.objectStore(store).get(key);
  return committed(tx, () => request.result, `reading ${store}/${key}`);
}

/**
 * The record `key` of `store` if `isValid` takes it, else `candidate`, written
 * there: in ONE readwrite transaction, so atomic. IndexedDB runs readwrite
 * transactions over the same store one at a time, across the tabs of the
 * origin: of two tabs doing this at once, the second finds the first's
 * record. Resolves once committed (another tab reading afterwards sees it).
 */
export function readOrAdd<T>(
  db: IdbDatabaseLike,
  store: string,
  key: string,
  candidate: T,
  isValid: (value: unknown) => value is T,
): Promise<T> {
  const tx = db.transaction(store, 'readwrite');
  const objects = tx.objectStore(store);
  let chosen: T = candidate;
  const request = objects.get(key);
  request.onsuccess = () => {
    const found = request.result;
    if (isValid(found)) chosen = found;
    else objects.put(candidate, key);
  };
  return committed(tx, () => chosen, `reading or adding ${store}/${key}`);
}

/** Deletes the record `key` of `store`; resolves once committed. */
export function deleteRecord(db: IdbDatabaseLike, store: string, key: string): Promise<void> {
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).delete(key);
  return committed(tx, () => undefined, `deleting ${store}/${key}`);
}
