import { z } from 'zod';
import { fieldPath, parseWith, ValidationError } from '../validation';
import { REF_RE } from '../directory/customer-input';

/** The shapes 1C (and the panel) send for employees and their groups; one definition for all. */

/** Rights an employee can hold, themself or through a group. */
export const RIGHTS = ['supervisor'] as const;
export type Right = (typeof RIGHTS)[number];

/**
 * An employee's extension: the FreeSWITCH directory user of their phone, 2 to 6 digits (the same rule
 * that tells an internal extension from an outside number in the call model and click-to-call).
 */
export const EMPLOYEE_EXTENSION_RE = /^[0-9]{2,6}$/;

const extension = z.string().regex(EMPLOYEE_EXTENSION_RE, 'must be an extension: 2 to 6 digits');
const ref = z.string().regex(REF_RE, 'must be a 1C reference (GUID): letters, digits, - _ . :, up to 64 characters');
const name = z.string().trim().min(1, 'must not be empty').max(300);
const rights = z.array(z.enum(RIGHTS)).max(RIGHTS.length * 4).default([]);

/** A panel sign-in name: letters (Cyrillic too), digits, . _ @ -; compared and stored in lower case. */
export const LOGIN_RE = /^[\p{L}\p{N}._@-]{1,64}$/u;
export const login = z
  .string()
  .trim()
  .transform((v) => v.normalize('NFC').toLowerCase())
  .pipe(z.string().regex(LOGIN_RE, 'must be 1 to 64 letters, digits, . _ @ -'));
export const password = z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters');

export const employeeFieldsSchema = z.object({
  /** Full name as 1C shows it (ФИО). */
  name,
  /** The 1C user's reference (Пользователь GUID). */
  userRef: ref.nullish(),
  /** Group ids (1C references); their rights apply to the employee. */
  groups: z.array(ref).max(100).default([]),
  /** Rights granted to the employee themself. */
  rights,
  /** Panel sign-in name; null removes the employee's credentials (and ends their sessions); omitted: unchanged. */
  login: login.nullish(),
  /** Panel password (stored as a scrypt hash, never returned); needs a login (given or already set); omitted: unchanged. */
  password: password.optional(),
}).strict();

export const employeeInputSchema = employeeFieldsSchema.extend({ extension }).strict();

export const groupFieldsSchema = z.object({ name, rights }).strict();
export const groupInputSchema = groupFieldsSchema.extend({ id: ref }).strict();

export type EmployeeFields = z.infer<typeof employeeFieldsSchema>;
export type GroupFields = z.infer<typeof groupFieldsSchema>;

export interface PreparedEmployee {
  extension: string;
  name: string;
  userRef: string | null;
  groups: string[];
  rights: Right[];
  /** undefined: credentials unchanged; null: removed; a string: the new login. */
  login?: string | null;
  /** A new password (plain; hashed by Employees before it is stored). */
  password?: string;
  /** The field the login and password came in (`employees[3]`, or '' for a single record): 400s name it. */
  field?: string;
}

export interface PreparedGroup {
  id: string;
  name: string;
  rights: Right[];
}

export function prepareEmployee(ext: string, f: EmployeeFields, field = ''): PreparedEmployee {
  const out: PreparedEmployee = { extension: ext, name: f.name, userRef: f.userRef ?? null, groups: [...new Set(f.groups)], rights: [...new Set(f.rights)] };
  if (f.login !== undefined) out.login = f.login;
  if (f.password !== undefined) out.password = f.password;
  if (f.login !== undefined || f.password !== undefined) out.field = field;
  if (f.login === null && f.password !== undefined) throw new ValidationError(fieldPath([field, 'password'].filter(Boolean)), `${fieldPath([field, 'password'].filter(Boolean))}: a password needs a login (login is null)`);
  return out;
}

export function prepareGroup(id: string, f: GroupFields): PreparedGroup {
  return { id, name: f.name, rights: [...new Set(f.rights)] };
}

/** Checks employees from 1C; the first bad value stops the whole batch, naming its field (`employees[3].extension`). */
export function prepareEmployees(input: unknown, root: string): PreparedEmployee[] {
  const list = parseWith(z.array(employeeInputSchema).max(5000, 'send at most 5000 employees per request'), input, root);
  const seen = new Set<string>();
  const logins = new Map<string, number>();
  return list.map((e, i) => {
    if (seen.has(e.extension)) throw new ValidationError(fieldPath([root, i, 'extension']), `extension ${e.extension} appears twice in the batch`);
    seen.add(e.extension);
    if (typeof e.login === 'string') {
      const f = fieldPath([root, i, 'login']);
      if (logins.has(e.login)) throw new ValidationError(f, `${f}: login ${e.login} appears twice in the batch (${fieldPath([root, logins.get(e.login)!, 'login'])})`);
      logins.set(e.login, i);
    }
    return prepareEmployee(e.extension, e, fieldPath([root, i]));
  });
}

/** Checks groups from 1C, all or nothing, naming the bad field (`groups[0].rights[1]`). */
export function prepareGroups(input: unknown, root: string): PreparedGroup[] {
  const list = parseWith(z.array(groupInputSchema).max(1000, 'send at most 1000 groups per request'), input, root);
  const seen = new Set<string>();
  return list.map((g, i) => {
    if (seen.has(g.id)) throw new ValidationError(fieldPath([root, i, 'id']), `group ${g.id} appears twice in the batch`);
    seen.add(g.id);
    return prepareGroup(g.id, g);
  });
}
