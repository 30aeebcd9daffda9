/**
 * The panel's texts: Russian and English have the same keys, and every literal key the panel's code
 * asks for (`t('journal.title')`) exists, so no screen ever shows a raw key.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SRC = join(__dirname, '..', 'panel', 'src');

function keys(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

describe('panel i18n', () => {
  const ru = JSON.parse(readFileSync(join(SRC, 'i18n', 'ru.json'), 'utf8'));
  const en = JSON.parse(readFileSync(join(SRC, 'i18n', 'en.json'), 'utf8'));

  test('ru and en have the same keys', () => {
    expect(keys(en).sort()).toEqual(keys(ru).sort());
  });

  test('every literal key used in the code exists', () => {
    const have = new Set(keys(ru));
    const missing: string[] = [];
    for (const f of files(SRC)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'(\s*,\s*\{[^)]*defaultValue)?/g)) {
        if (m[2]) continue; // has its own fallback
        if (!have.has(m[1]) && !keys(ru).some((k) => k.startsWith(`${m[1]}_`))) missing.push(`${f.slice(SRC.length + 1)}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
