import { z } from 'zod';

/** Bad input from a user or 1C, naming the field; the API answers it with 400 and a JSON body. */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly code = 'invalid_body',
  ) {
    super(message);
  }
}

/** Parses with a zod schema; the first problem becomes a ValidationError naming its field path. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // The body itself is no field; a named root (e.g. `customers` of a sync body) leads the path.
  const path = root === 'body' ? [...issue.path] : [root, ...issue.path];
  if (issue.code === 'unrecognized_keys') path.push(issue.keys.join(','));
  const field = fieldPath(path) || root;
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${field}` : `${field}: ${issue.message}`;
  throw new ValidationError(field, message);
}

/** ['customers', 3, 'phones', 0, 'number'] → customers[3].phones[0].number */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}
