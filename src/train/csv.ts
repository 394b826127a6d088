/** A small RFC 4180 CSV reader that keeps line numbers, so ingest errors can say where they are. */

export interface CsvRow {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

/** Parses CSV text (quoted fields, doubled quotes, CRLF or LF) into records. */
export function* parseCsv(text: string): Generator<CsvRow> {
  let i = 0;
  let line = 1;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte-order mark
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (;;) {
      if (i >= n) {
        if (quoted) throw new CsvSyntaxError(start, 'a closing double quote');
        fields.push(field);
        break;
      }
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
          }
        } else {
          if (c === '\n') line++;
          field += c;
          i++;
        }
      } else if (c === '"' && field === '') {
        quoted = true;
        i++;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        i++;
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        break;
      } else {
        field += c;
        i++;
      }
    }
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    yield { line: start, fields };
  }
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    expected: string,
  ) {
    super(`line ${line}: expected ${expected}`);
    this.name = 'CsvSyntaxError';
  }
}

/** Quotes a field when it needs it. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
