// The account forms' checks, mirroring the server's (so most mistakes are caught
// before a round trip) and the mapping of the server's 409/422 answers onto fields.
import { ApiError } from '../api';

export const USERNAME_MAX = 64;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;
const USERNAME_CHARS = /^[A-Za-z0-9._@-]+$/;

export const PASSWORD_HINT = `${PASSWORD_MIN}–${PASSWORD_MAX} characters`;

/** Characters as the server counts them (code points, not UTF-16 units). */
function length(text: string): number {
  return [...text].length;
}

export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'Enter a user name.';
  if (length(username) > USERNAME_MAX) return `At most ${USERNAME_MAX} characters.`;
  if (!USERNAME_CHARS.test(username)) return 'Only letters, digits and . _ @ - (no spaces).';
  return null;
}

export function passwordProblem(password: string): string | null {
  const n = length(password);
  if (n === 0) return 'Enter a password.';
  if (n < PASSWORD_MIN) return `At least ${PASSWORD_MIN} characters (${n} so far).`;
  if (n > PASSWORD_MAX) return `At most ${PASSWORD_MAX} characters.`;
  return null;
}

export const KEY_NAME_MAX = 100;

export function keyNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return 'Name the key after the client that will use it.';
  if (length(trimmed) > KEY_NAME_MAX) return `At most ${KEY_NAME_MAX} characters.`;
  // The server refuses control characters (a key name ends up in logs and tables).
  if (/[\u0000-\u001f]/.test(trimmed)) return 'No control characters.';
  return null;
}

export type FormErrors<F extends string> = Partial<Record<F | 'form', string>>;

export interface NewUserForm {
  username: string;
  password: string;
  role: string;
  tier: string;
}

export function validateNewUser(form: NewUserForm): FormErrors<keyof NewUserForm> {
  const errors: FormErrors<keyof NewUserForm> = {};
  const username = usernameProblem(form.username);
  if (username) errors.username = username;
  const password = passwordProblem(form.password);
  if (password) errors.password = password;
  if (!form.role) errors.role = 'Choose a role.';
  if (!form.tier) errors.tier = 'Choose a tier.';
  return errors;
}

export function hasErrors(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).some(Boolean);
}

/**
 * The server's refusal as field messages: a 422's per-field details on the fields
 * the form has (the rest, and any other failure, under `form`); a 409 on
 * `conflictField` (e.g. the user name that exists already).
 */
export function serverErrors<F extends string>(
  error: unknown,
  fields: readonly F[],
  conflictField?: F,
): FormErrors<F> {
  const out: FormErrors<F> = {};
  if (!(error instanceof ApiError)) {
    out.form = error instanceof Error ? error.message : String(error);
    return out;
  }
  if (error.status === 409 && conflictField) {
    out[conflictField] = error.message;
    return out;
  }
  const other: string[] = [];
  for (const { field, reason } of error.fields) {
    // The envelope names nested fields with dots ("password", "user.password").
    const name = field.split('.').pop() as F;
    if (fields.includes(name) && !out[name]) out[name] = reason;
    else other.push(`${field}: ${reason}`);
  }
  if (other.length > 0 || error.fields.length === 0) {
    out.form = other.length > 0 && error.fields.length > 0 ? other.join('; ') : error.message;
  }
  return out;
}
