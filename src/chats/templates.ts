/**
 * Message templates: named texts with {placeholders} rendered on the server from the 1C context given.
 * The placeholders are a fixed list; an unknown one is an error when the template is saved, a missing
 * value one when it is rendered.
 */
export const PLACEHOLDERS = ['customerName', 'contactName', 'orderNumber', 'amount', 'date', 'employeeName', 'invoiceNumber'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const RE = /\{([^{}]*)\}/g;

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** The placeholders a template uses; throws on an unknown one. */
export function placeholdersOf(text: string, field = 'text'): Placeholder[] {
  const out = new Set<Placeholder>();
  for (const m of text.matchAll(RE)) {
    const name = m[1].trim();
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new TemplateError(`unknown placeholder {${name}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`, field);
    }
    out.add(name as Placeholder);
  }
  return [...out];
}

/** Renders a template; every placeholder it uses needs a value (`vars.<name>` names the missing one). */
export function renderTemplate(text: string, vars: Partial<Record<Placeholder, string>>): string {
  placeholdersOf(text);
  return text.replace(RE, (_m, raw: string) => {
    const name = raw.trim() as Placeholder;
    const v = vars[name];
    if (v === undefined || v === '') throw new TemplateError(`the template needs {${name}}: give vars.${name}`, `vars.${name}`);
    return v;
  });
}
