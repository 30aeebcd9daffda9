import { ApiError } from '../api-error';
import { Db } from '../db/database';
import { PLACEHOLDERS } from '../chats/templates';

/** One approved (or pending…) WhatsApp template as the account knows it. */
export interface WhatsappTemplate {
  name: string;
  language: string;
  status: string;
  category: string | null;
  body: string | null;
  /** How many body parameters ({{1}}, {{2}} …) it takes. */
  params: number;
  /**
   * The header's format as Meta names it (`TEXT`, `IMAGE`, `DOCUMENT`, `VIDEO`, `LOCATION`), null without a
   * header. Only a `DOCUMENT` header carries a file (an invoice) outside the 24-hour window.
   */
  header?: string | null;
}

/** Our template → a WhatsApp template of one account; `params` are our placeholders for {{1}}, {{2}} … */
export interface WhatsappTemplateMapping {
  template: string;
  accountId: string;
  waName: string;
  language: string;
  params: string[];
  /** The mapped WhatsApp template's header format from the account's catalogue (null: none, or not in the catalogue). */
  header: string | null;
  updatedAt: string;
}

/** A template mapping refused: an ApiError (src/api-error.ts) the API sends as it is. */
export class MappingError extends ApiError {
  constructor(
    override readonly status: 400 | 404 | 422,
    code: string,
    message: string,
    field?: string,
  ) {
    super(status, code, message, field);
  }
}

/** The number of distinct body parameters in a WhatsApp template text ({{1}} … or named {{name}}). */
export function countParams(body: string | null | undefined): number {
  if (!body) return 0;
  return new Set([...body.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1])).size;
}

/**
 * The WhatsApp template catalogue per account (whatsapp_templates) and the mapping of our templates
 * (chat_templates) onto it (whatsapp_template_map): 1C chooses our template once; each WhatsApp account
 * sends its own approved form with our placeholders' values as the body parameters.
 */
export class WhatsappTemplates {
  constructor(private readonly db: Db) {}

  /** Replaces an account's catalogue (a sync from Graph, or the configured list of a gateway). */
  async replaceCatalogue(accountId: string, items: WhatsappTemplate[]): Promise<number> {
    const now = Date.now();
    await this.db.transaction(async (tx) => {
      await this.db.exec('DELETE FROM whatsapp_templates WHERE account_id = ?', [accountId], tx);
      for (const t of items) {
        await this.db.exec(`INSERT INTO whatsapp_templates (account_id, name, language, status, category, body, params, header, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (account_id, name, language) DO UPDATE SET status = excluded.status, category = excluded.category, body = excluded.body, params = excluded.params, header = excluded.header, updated_at = excluded.updated_at`,
        [accountId, t.name, t.language, t.status, t.category, t.body, t.params, t.header ?? null, now], tx);
      }
    });
    return items.length;
  }

  async catalogue(accountId: string): Promise<WhatsappTemplate[]> {
    const rows = await this.db.query<{ name: string; language: string; status: string; category: string | null; body: string | null; params: number | string | bigint; header: string | null }>(
      'SELECT name, language, status, category, body, params, header FROM whatsapp_templates WHERE account_id = ? ORDER BY name, language', [accountId]);
    return rows.map((r) => ({ ...r, params: Number(r.params), header: r.header ?? null }));
  }

  async mapping(template: string, accountId: string): Promise<WhatsappTemplateMapping | null> {
    const rows = await this.db.query<MapRow>(`${MAP_SELECT} WHERE m.template = ? AND m.account_id = ?`, [template, accountId]);
    return rows.length ? mapView(rows[0]) : null;
  }

  async mappings(template: string): Promise<WhatsappTemplateMapping[]> {
    const rows = await this.db.query<MapRow>(`${MAP_SELECT} WHERE m.template = ? ORDER BY m.account_id`, [template]);
    return rows.map(mapView);
  }

  /** Maps our template onto an account's WhatsApp template; checked against the catalogue and our placeholders. */
  async putMapping(template: string, accountId: string, m: { waName: string; language: string; params: string[] }): Promise<{ created: boolean; mapping: WhatsappTemplateMapping }> {
    const ours = await this.db.query<{ text: string }>('SELECT text FROM chat_templates WHERE name = ?', [template]);
    if (!ours.length) throw new MappingError(404, 'not_found', `no template ${template}: create it with PUT /chat-templates/${template} first`);
    const wa = (await this.catalogue(accountId)).find((t) => t.name === m.waName && t.language === m.language);
    if (!wa) throw new MappingError(422, 'unknown_whatsapp_template', `account ${accountId} has no WhatsApp template ${m.waName} (${m.language}); sync the catalogue first (POST /messengers/whatsapp/${accountId}/templates/sync)`, 'waName');
    if (wa.status !== 'APPROVED') throw new MappingError(422, 'template_not_approved', `WhatsApp template ${m.waName} (${m.language}) is ${wa.status}, not APPROVED`, 'waName');
    if (m.params.length !== wa.params) throw new MappingError(400, 'invalid_params', `WhatsApp template ${m.waName} takes ${wa.params} parameter(s); give that many placeholder names`, 'params');
    m.params.forEach((p, i) => {
      if (!(PLACEHOLDERS as readonly string[]).includes(p)) throw new MappingError(400, 'invalid_params', `params[${i}]: unknown placeholder ${p}; known: ${PLACEHOLDERS.join(', ')}`, `params.${i}`);
    });
    const now = Date.now();
    const before = await this.mapping(template, accountId);
    await this.db.exec(`INSERT INTO whatsapp_template_map (template, account_id, wa_name, language, params, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (template, account_id) DO UPDATE SET wa_name = excluded.wa_name, language = excluded.language, params = excluded.params, updated_at = excluded.updated_at`,
    [template, accountId, m.waName, m.language, JSON.stringify(m.params), now]);
    return { created: !before, mapping: (await this.mapping(template, accountId))! };
  }

  async deleteMapping(template: string, accountId: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM whatsapp_template_map WHERE template = ? AND account_id = ?', [template, accountId])) > 0;
  }
}

/** A mapping with its WhatsApp template's header format, read from the catalogue (so a re-sync updates it). */
const MAP_SELECT = `SELECT m.*, t.header AS header FROM whatsapp_template_map m
  LEFT JOIN whatsapp_templates t ON t.account_id = m.account_id AND t.name = m.wa_name AND t.language = m.language`;

interface MapRow {
  template: string;
  account_id: string;
  wa_name: string;
  language: string;
  params: string;
  header: string | null;
  updated_at: number | string | bigint;
}

function mapView(r: MapRow): WhatsappTemplateMapping {
  return { template: r.template, accountId: r.account_id, waName: r.wa_name, language: r.language, params: JSON.parse(r.params) as string[], header: r.header ?? null, updatedAt: new Date(Number(r.updated_at)).toISOString() };
}
