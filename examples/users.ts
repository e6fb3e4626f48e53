/**
 * A stand-in for your own users: replace it with your user table and a real
 * password hash check (bcrypt, argon2). It knows one demo user, and only when
 * DEMO_PASSWORD is set, so a copied example cannot be logged into by default.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface User {
  id: string;
  role: string;
}

const DEMO_EMAIL = 'demo@example.com';
const DEMO_USER: User = { id: 'demo-user', role: 'admin' };

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The user whose `{ email, password }` this is, or undefined. */
export async function checkPassword(body: unknown): Promise<User | undefined> {
  const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
  const demoPassword = process.env.DEMO_PASSWORD;
  if (!demoPassword || typeof email !== 'string' || typeof password !== 'string') return undefined;
  // Equal-length digests, compared in constant time.
  const ok = timingSafeEqual(digest(password), digest(demoPassword));
  return ok && email === DEMO_EMAIL ? DEMO_USER : undefined;
}
