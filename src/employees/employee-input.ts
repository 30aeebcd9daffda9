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

export const employeeFieldsSchema = z.object({
  /** Full name as 1C shows it (ФИО). */
  name,
  /** The 1C user's reference (Пользователь GUID). */
  userRef: ref.nullish(),
  /** Group ids (1C references); their rights apply to the employee. */
  groups: z.array(ref).max(100).default([]),
  /** Rights granted to the employee themself. */
  rights,
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
}

export interface PreparedGroup {
  id: string;
  name: string;
  rights: Right[];
}

export function prepareEmployee(ext: string, f: EmployeeFields): PreparedEmployee {
  return { extension: ext, name: f.name, userRef: f.userRef ?? null, groups: [...new Set(f.groups)], rights: [...new Set(f.rights)] };
}

export function prepareGroup(id: string, f: GroupFields): PreparedGroup {
  return { id, name: f.name, rights: [...new Set(f.rights)] };
}

/** Checks employees from 1C; the first bad value stops the whole batch, naming its field (`employees[3].extension`). */
export function prepareEmployees(input: unknown, root: string): PreparedEmployee[] {
  const list = parseWith(z.array(employeeInputSchema).max(5000, 'send at most 5000 employees per request'), input, root);
  const seen = new Set<string>();
  return list.map((e, i) => {
    if (seen.has(e.extension)) throw new ValidationError(fieldPath([root, i, 'extension']), `extension ${e.extension} appears twice in the batch`);
    seen.add(e.extension);
    return prepareEmployee(e.extension, e);
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
