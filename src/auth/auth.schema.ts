import { z } from 'zod';

export const LoginBody = z.strictObject({
  login: z.string().min(1).max(200),
  password: z.string().min(1).max(1000),
});

export const Me = z.object({
  id: z.number().nullable(),
  login: z.string(),
  role: z.literal('admin'),
  via: z.enum(['session', 'token', 'env']),
  mustChangePassword: z.boolean(),
});

export const PasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1000),
  newPassword: z.string().max(1000),
});

export const TokenBody = z.strictObject({ name: z.string().trim().min(1).max(200) });

export const Token = z.object({
  id: z.number(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the key, to recognise it in lists'),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});

export const CreatedToken = Token.extend({ token: z.string().describe('The key itself: shown once, store it now') });
export const TokenParams = z.object({ id: z.coerce.number().int().positive() });
