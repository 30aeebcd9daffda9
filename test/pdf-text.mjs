// Extracts the text of a PDF with pdfjs-dist (ESM, so a child process of the Jest tests):
// `node test/pdf-text.mjs < file.pdf` prints {"pages": ["text of page 1", ...], "fonts": [...]} as JSON.
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const data = new Uint8Array(Buffer.concat(chunks));
const doc = await getDocument({ data, useSystemFonts: false, disableFontFace: true, verbosity: 0 }).promise;
const pages = [];
const fonts = new Set();
for (let i = 1; i <= doc.numPages; i++) {
  const page = await doc.getPage(i);
  const content = await page.getTextContent();
  pages.push(content.items.map((it) => ('str' in it ? it.str + (it.hasEOL ? '\n' : ' ') : '')).join(''));
  for (const s of Object.values(content.styles)) fonts.add(s.fontFamily);
}
process.stdout.write(JSON.stringify({ pages, numPages: doc.numPages, fonts: [...fonts] }));
