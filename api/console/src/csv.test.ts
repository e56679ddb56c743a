import { describe, expect, it } from 'vitest';
import { importRows, parseCsv } from './csv';

describe('parseCsv', () => {
  it('reads quoted commas, doubled quotes and line breaks, with the line each record starts on', () => {
    const text = 'a,b\r\n"x, y","say ""hi"""\n"two\nlines",z\n\nlast,row';
    expect(parseCsv(text)).toEqual({
      records: [
        { line: 1, cells: ['a', 'b'] },
        { line: 2, cells: ['x, y', 'say "hi"'] },
        { line: 3, cells: ['two\nlines', 'z'] },
        { line: 6, cells: ['last', 'row'] },
      ],
    });
  });

  it('drops a byte-order mark and keeps empty cells', () => {
    expect(parseCsv('\uFEFFname,,x\n').records).toEqual([{ line: 1, cells: ['name', '', 'x'] }]);
  });

  it('counts a line break made of a carriage return alone, inside quotes too', () => {
    expect(parseCsv('a\r"b\rc"\rd').records.map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it('names the line of a quote that is never closed', () => {
    expect(parseCsv('a\n"open,\nstill').error).toBe('Line 2: a quoted cell is never closed.');
  });
});

const locations = [
  { id: 'L1', name: 'Boston HQ' },
  { id: 'L2', name: 'Austin Office' },
];

describe('importRows', () => {
  it('maps the header names people use, profiles in any case and locations by name', () => {
    const { rows, errors } = importRows(
      'Name,Email Address,Phone,Ext,Profile,Location\nNia New,nia@x.example,+1617,1010,Elite,boston hq\nOmar,,,1011,basic,',
      locations,
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        line: 2,
        name: 'Nia New',
        email: 'nia@x.example',
        phoneNumber: '+1617',
        extension: '1010',
        phoneProfile: 'ELITE',
        locationId: 'L1',
      },
      {
        line: 3,
        name: 'Omar',
        email: undefined,
        phoneNumber: undefined,
        extension: '1011',
        phoneProfile: 'BASIC',
        locationId: undefined,
      },
    ]);
  });

  it('reports every bad line with its number, and a header without the needed columns', () => {
    const text = [
      'name,extension,phoneProfile,location',
      'A,1001,gold,',
      'B,1002,elite,Paris',
      'C,1003',
      'D,1004,premier,Austin Office',
    ].join('\n');
    const { rows, errors } = importRows(text, locations);
    expect(errors).toEqual([
      { line: 2, column: 'phoneProfile', message: expect.stringContaining('"gold" is not a phone profile') },
      { line: 3, column: 'location', message: 'There is no location "Paris" in this account.' },
      { line: 4, message: '2 cells where the header has 4.' },
    ]);
    expect(rows.map((r) => r.line)).toEqual([5]);
    expect(importRows('name,email\nA,a@x', locations).errors).toEqual([
      { line: 1, message: 'The header row lacks extension, phoneProfile.' },
    ]);
    expect(importRows('', locations).errors).toEqual([{ line: 0, message: 'The file is empty.' }]);
  });
});
