/** The stored message templates (`chat_templates`): list, create or replace, delete. Rendering is in templates.ts. */
import type { Db } from '../db/database';
import { placeholdersOf } from './templates';
import { ChatError, iso } from './types';

/** A stored template as the API shows it. */
export interface TemplateView {
  name: string;
  text: string;
  placeholders: string[];
  updatedAt: string;
}

/** Every template, by name. */
export async function listTemplates(db: Db): Promise<TemplateView[]> {
  const rows = await db.query<{ name: string; text: string; updated_at: number }>('SELECT * FROM chat_templates ORDER BY name');
  return rows.map((r) => ({ name: r.name, text: r.text, placeholders: placeholdersOf(r.text), updatedAt: iso(r.updated_at)! }));
}

/** Creates or replaces a template (400 invalid_template when its placeholders do not parse). */
export async function putTemplate(db: Db, name: string, text: string): Promise<{ created: boolean; template: TemplateView }> {
  let placeholders: string[];
  try {
    placeholders = placeholdersOf(text);
  } catch (e) {
    throw new ChatError(400, 'invalid_template', (e as Error).message, 'text');
  }
  const now = Date.now();
  const before = await db.query('SELECT 1 FROM chat_templates WHERE name = ?', [name]);
  await db.exec(`INSERT INTO chat_templates (name, text, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`, [name, text, now]);
  return { created: !before.length, template: { name, text, placeholders, updatedAt: iso(now)! } };
}

/** Deletes a template; false when there was none. */
export async function deleteTemplate(db: Db, name: string): Promise<boolean> {
  return (await db.exec('DELETE FROM chat_templates WHERE name = ?', [name])) > 0;
}
