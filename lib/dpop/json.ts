/**
 * Strict JSON for the proof's header and payload. `JSON.parse` keeps the
 * last of two members with the same name, and another parser may keep the
 * first: a proof whose meaning depends on the parser is refused instead
 * (RFC 7515 §5.2 allows either; RFC 8725 §3.11 asks for strictness). Bytes
 * that are not UTF-8 are refused too, rather than read as U+FFFD.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * True when some object in `text` (known to be valid JSON) names a member
 * twice. Names are compared decoded (`"a"` and `"\u0061"` are the same name).
 */
function hasDuplicateNames(text: string): boolean {
  // One entry per open object (its names so far) or array (null).
  const open: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) open.push(new Set());
    else if (c === 0x5b /* [ */) open.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) open.pop();
    else if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      let next = end + 1;
      while (next < text.length && /\s/.test(text.charAt(next))) next++;
      const names = open[open.length - 1];
      if (text.charCodeAt(next) === 0x3a /* : */ && names) {
        const raw = text.slice(i + 1, end);
        const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (names.has(name)) return true;
        names.add(name);
      }
      i = end;
    }
  }
  return false;
}

/**
 * The JSON object in a base64url segment's bytes, or undefined when they are
 * not UTF-8, not JSON, not an object, or name a member twice anywhere.
 */
export function parseObject(segment: string): Record<string, unknown> | undefined {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'));
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return hasDuplicateNames(text) ? undefined : (value as Record<string, unknown>);
}
