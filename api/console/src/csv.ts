// CSV (RFC 4180) for the users import: records with the line each starts on, so every error can
// name the line a person sees in their spreadsheet's export. Quoted cells may hold commas,
// doubled quotes and line breaks; a UTF-8 byte-order mark is dropped.

/** One record: its cells and the 1-based line it starts on. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** The records of `text`; blank lines are skipped. A quote left open is an error at its line. */
export function parseCsv(text: string): { records: CsvRecord[]; error?: string } {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let quoteLine = 0;
  const source = text.replace(/^\uFEFF/, '');
  const endRecord = () => {
    cells.push(cell);
    if (cells.length > 1 || cells[0].trim() !== '') records.push({ line: start, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === '\n' || (c === '\r' && source[i + 1] !== '\n')) line++;
        cell += c;
      }
    } else if (c === '"' && cell === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && source[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      cell += c;
    }
  }
  if (quoted) return { records, error: `Line ${quoteLine}: a quoted cell is never closed.` };
  if (cell !== '' || cells.length > 0) endRecord();
  return { records };
}

/** The import's columns: the header names a person may use for each (compared ignoring case,
 * spaces and underscores). */
export const COLUMNS = {
  name: ['name'],
  email: ['email', 'emailaddress'],
  phoneNumber: ['phonenumber', 'phone'],
  extension: ['extension', 'ext'],
  phoneProfile: ['phoneprofile', 'profile'],
  location: ['location'],
} as const;

export type Column = keyof typeof COLUMNS;

const PROFILES = ['BASIC', 'ESSENTIALS', 'PREMIER', 'ELITE', 'OTHER'] as const;
export type Profile = (typeof PROFILES)[number];

/** A row ready for `usersImport`, with the line it came from. */
export interface ImportRow {
  line: number;
  name: string;
  email?: string;
  phoneNumber?: string;
  extension: string;
  phoneProfile: Profile;
  locationId?: string;
}

/** A problem with one line (`line` 0: the file as a whole). */
export interface LineError {
  line: number;
  column?: string;
  message: string;
}

const key = (header: string) => header.toLowerCase().replace(/[\s_-]/g, '');

/** The rows of a CSV export with a header row; `locations` maps location names (any case) to
 * ids. Everything the server checks (lengths, digits, uniqueness) is left to it; this reads the
 * file's shape, the profile names and the location names. */
export function importRows(text: string, locations: { id: string; name: string }[]): { rows: ImportRow[]; errors: LineError[] } {
  const { records, error } = parseCsv(text);
  const errors: LineError[] = error ? [{ line: 0, message: error }] : [];
  const [header, ...body] = records;
  if (!header) return { rows: [], errors: [...errors, { line: 0, message: 'The file is empty.' }] };
  const index: Partial<Record<Column, number>> = {};
  header.cells.forEach((h, i) => {
    const found = (Object.keys(COLUMNS) as Column[]).find((c) => (COLUMNS[c] as readonly string[]).includes(key(h)));
    if (found && index[found] === undefined) index[found] = i;
  });
  const missing = (['name', 'extension', 'phoneProfile'] as Column[]).filter((c) => index[c] === undefined);
  if (missing.length > 0) {
    return {
      rows: [],
      errors: [...errors, { line: header.line, message: `The header row lacks ${missing.join(', ')}.` }],
    };
  }
  if (body.length === 0) errors.push({ line: header.line, message: 'No users below the header row.' });
  const byName = new Map(locations.map((l) => [l.name.trim().toLowerCase(), l.id]));
  const rows: ImportRow[] = [];
  for (const r of body) {
    const cell = (c: Column) => {
      const i = index[c];
      return i === undefined ? '' : (r.cells[i] ?? '').trim();
    };
    if (r.cells.length !== header.cells.length) {
      errors.push({
        line: r.line,
        message: `${r.cells.length} cells where the header has ${header.cells.length}.`,
      });
      continue;
    }
    const profile = cell('phoneProfile').toUpperCase();
    if (!(PROFILES as readonly string[]).includes(profile)) {
      errors.push({
        line: r.line,
        column: 'phoneProfile',
        message: `"${cell('phoneProfile')}" is not a phone profile (${PROFILES.map((p) => p.toLowerCase()).join(', ')}).`,
      });
      continue;
    }
    const location = cell('location');
    const locationId = location ? byName.get(location.toLowerCase()) : undefined;
    if (location && !locationId) {
      errors.push({ line: r.line, column: 'location', message: `There is no location "${location}" in this account.` });
      continue;
    }
    rows.push({
      line: r.line,
      name: cell('name'),
      email: cell('email') || undefined,
      phoneNumber: cell('phoneNumber') || undefined,
      extension: cell('extension'),
      phoneProfile: profile as Profile,
      locationId,
    });
  }
  return { rows, errors };
}
