import type { DriverContext, DriverSession, PlatformDriver } from '../contract.ts';

/** Shorter values are too common to look for in a message; no credential part of interest is that short. */
const MIN_LENGTH = 4;
const REDACTED = '[redacted]';

/**
 * What a driver knows about the credentials it read and the tokens it derived from them, so that no message it
 * writes carries any part of one. Driver messages name the secret (`the credential F5_SFO1_ADMIN`); the guard is
 * the second line: whatever slips into a message anyway is cut out before the message leaves the driver.
 */
export interface CredentialGuard {
  /**
   * A token derived from a credential (PAN-OS API key, F5 auth token, Lighthouse session): masked at once
   * (DriverContext.mask) and cut out of every message from now on. Call it the moment the token is parsed.
   */
  derived(token: string): void;
  /** `text` without any secret value, password or derived token. */
  scrub(text: string): string;
  /**
   * Text the device answered, before it goes into a message: `scrub`, and without the user names of the
   * credentials either (a device may echo the user it refused).
   */
  fromDevice(text: string): string;
}

/** The forms a value may take in a message: as is, JSON-escaped, URL-encoded. */
function forms(value: string): string[] {
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
}

function remove(text: string, values: Set<string>): string {
  let clean = text;
  // Longest first, so that a value containing another is removed whole.
  for (const value of [...values].sort((a, b) => b.length - a.length))
    if (clean.includes(value)) clean = clean.split(value).join(REDACTED);
  return clean;
}

/** A guard for one driver context; `context.secret` reads through `remember`. */
export function credentialGuard(context: Pick<DriverContext, 'mask'>): CredentialGuard & {
  remember(value: string): void;
} {
  const secrets = new Set<string>();
  const users = new Set<string>();
  const keep = (into: Set<string>, value: string) => {
    for (const form of forms(value)) if (form.length >= MIN_LENGTH) into.add(form);
  };
  return {
    /** A secret value as read: whole, line by line, and `user:password` split into its two parts. */
    remember(value: string) {
      keep(secrets, value);
      const lines = value
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean);
      if (lines.length > 1) for (const line of lines) keep(secrets, line);
      const at = value.indexOf(':');
      if (lines.length === 1 && at > 0) {
        const password = value.slice(at + 1);
        keep(secrets, password);
        // The password alone is masked too: the runner masks whole values only.
        if (password.length >= MIN_LENGTH) context.mask?.(password);
        keep(users, value.slice(0, at));
      }
    },
    derived(token: string) {
      if (!token) return;
      context.mask?.(token);
      keep(secrets, token);
    },
    scrub: (text) => remove(text, secrets),
    fromDevice: (text) => remove(remove(text, secrets), users),
  };
}

/** The same error, its message (and stack) scrubbed. */
function scrubbed(error: unknown, scrub: (text: string) => string): unknown {
  if (typeof error === 'string') return scrub(error);
  if (!(error instanceof Error)) return error;
  for (const field of ['message', 'stack'] as const) {
    const text = error[field];
    if (typeof text !== 'string') continue;
    const clean = scrub(text);
    if (clean !== text)
      Object.defineProperty(error, field, { value: clean, writable: true, configurable: true });
  }
  return error;
}

/** Every method of the session, with what it throws scrubbed. */
function scrubbedSession(session: DriverSession, scrub: (text: string) => string): DriverSession {
  const wrapped: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(session)) {
    if (typeof member !== 'function') {
      wrapped[key] = member;
      continue;
    }
    wrapped[key] = (...args: unknown[]) => {
      try {
        const out = (member as (...a: unknown[]) => unknown).apply(session, args);
        return out instanceof Promise
          ? out.catch((e: unknown) => {
              throw scrubbed(e, scrub);
            })
          : out;
      } catch (e) {
        throw scrubbed(e, scrub);
      }
    };
  }
  return wrapped as unknown as DriverSession;
}

/**
 * A driver whose every message is guarded: the connect function gets a context whose `secret` remembers what it
 * returns and whose `log` scrubs, plus the guard for derived tokens and device text; what connect and the
 * session's methods throw is scrubbed as well.
 */
export function guardedDriver<Options>(
  name: string,
  connect: (context: DriverContext<Options>, guard: CredentialGuard) => Promise<DriverSession>,
): PlatformDriver<Options> {
  return {
    name,
    async connect(context: DriverContext<Options>): Promise<DriverSession> {
      const guard = credentialGuard(context);
      const guarded: DriverContext<Options> = {
        ...context,
        secret(secretName: string) {
          const value = context.secret(secretName);
          guard.remember(value);
          return value;
        },
        log: (message) => context.log(guard.scrub(message)),
      };
      const session = await connect(guarded, guard).catch((e: unknown) => {
        throw scrubbed(e, guard.scrub);
      });
      return scrubbedSession(session, guard.scrub);
    },
  };
}
