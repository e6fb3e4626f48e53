/** Read-outs of `INFO` that tell whether a Redis can keep sessions safely. */

/** Something about the Redis server that can lose sessions; see `RedisSessionStore.checkServer`. */
export interface StoreWarning {
  /** Stable: `'eviction_policy'` or `'redis_version'`. */
  code: 'eviction_policy' | 'redis_version';
  /** One line for an operator, naming the setting and the fix (and, on a Cluster, starting with the node). */
  message: string;
  /** On a Cluster: the primary it is about, `host:port`. */
  node?: string;
}

/** The `field:value` lines of an INFO reply (a string, or RESP3's verbatim string object). */
export function infoFields(reply: unknown): Map<string, string> {
  let text = '';
  if (typeof reply === 'string') text = reply;
  else if (reply instanceof Uint8Array) text = Buffer.from(reply).toString('utf8');
  else if (reply instanceof String) text = reply.valueOf();
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** The warnings for a server whose `INFO server` and `INFO memory` replies these are. */
export function serverWarnings(server: unknown, memory: unknown): StoreWarning[] {
  const warnings: StoreWarning[] = [];
  const version = infoFields(server).get('redis_version');
  const major = Number(version?.split('.')[0]);
  if (version !== undefined && Number.isFinite(major) && major < 7) {
    warnings.push({
      code: 'redis_version',
      message: `Redis ${version} is too old: the session scripts need Redis 7.0 or later`,
    });
  }
  const policy = infoFields(memory).get('maxmemory_policy');
  if (policy !== undefined && policy !== 'noeviction') {
    warnings.push({
      code: 'eviction_policy',
      message:
        `Redis maxmemory-policy is ${policy}: under memory pressure Redis evicts session keys, which logs` +
        ' their users out silently, like a real logout. Set maxmemory-policy noeviction' +
        ' (CONFIG SET maxmemory-policy noeviction, and in redis.conf) and give Redis the memory it needs.',
    });
  }
  return warnings;
}
