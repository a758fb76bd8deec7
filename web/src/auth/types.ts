// The shapes of the auth API (docs: /auth/*, /api/users, /api/keys).

/** Roles the server knows; a principal's role may also be null (may only sign in). */
export const ROLES = ['viewer', 'analyst', 'admin', 'api'] as const;
export type Role = (typeof ROLES)[number];

export const TIERS = ['standard', 'premium'] as const;
export type Tier = (typeof TIERS)[number];

/** GET /auth/me: who the server takes the caller for. */
export interface Principal {
  kind: 'user' | 'api_key' | 'anonymous';
  username: string | null;
  role: string | null;
  tier: string;
}

/** A user account as the API returns it (never its password). */
export interface UserRecord {
  username: string;
  role: string;
  tier: string;
  disabled: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

/** POST /auth/login and /auth/refresh. */
export interface SessionResponse {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds the access token lives. */
  expires_in: number;
  /** Seconds the refresh token lives. */
  refresh_expires_in: number;
  user: UserRecord;
}

/** An API key by its prefix (the secret is only in the creation answer). */
export interface ApiKeyRecord {
  prefix: string;
  name: string;
  role: string;
  tier: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

export interface CreatedApiKey extends ApiKeyRecord {
  /** The whole key, `tck_<prefix>_<secret>`: shown once. */
  key: string;
}
