// Every route names the permission it needs and the base it touches (route
// config); `authorize` is the one place that decides. Only the admin role
// exists now; roles, groups and scoped keys plug in here, not in the routes.

export const PERMISSIONS = [
  'public', // no authentication (health only)
  'self', // any signed-in principal, even one that must change its password
  'bases.read',
  'bases.manage',
  'profiles.read',
  'profiles.write',
  'profiles.delete',
  'profiles.import',
  'profiles.export',
  'tokens.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface Principal {
  kind: 'session' | 'token' | 'env';
  userId: number | null;
  login: string;
  role: 'admin';
  mustChangePassword: boolean;
  /** Who did it, as recorded in event logs: `user:1`, `token:7`, `env`. */
  actor: string;
}

export type Decision = { ok: true } | { ok: false; reason: 'password_change_required' | 'forbidden' };

export function authorize(p: Principal, permission: Permission, _baseId: number | undefined): Decision {
  if (permission === 'public' || permission === 'self') return { ok: true };
  if (p.mustChangePassword) return { ok: false, reason: 'password_change_required' };
  if (p.role === 'admin') return { ok: true };
  return { ok: false, reason: 'forbidden' };
}
