// One CSV record, as docker/metadata-action reads each rule, flavor and image line:
// fields split on commas, a field may be wrapped in double quotes (a doubled quote inside
// stands for one), and a quote anywhere else is an error rather than a guess.
import { ShiplineError } from '../util/errors';

/** The fields of one line (not trimmed; an empty line has none). Throws kind `invalid` with data.line. */
export function csvFields(line: string): string[] {
  if (line === '') return [];
  const fields: string[] = [];
  let i = 0;
  const fail = (why: string) =>
    new ShiplineError(`${why} (quote a whole field: "key=a,b")`, { kind: 'invalid', data: { line } });
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw fail('a quoted field is not closed');
        const c = line[i]!;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ',')
        throw fail(`a closing quote must end its field, found '${line[i]}' after it`);
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw fail('a quote inside a field that does not start with one');
        field += line[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}
