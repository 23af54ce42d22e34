// Dates rendered with moment's format tokens (what `{{date 'YYYYMMDD' tz='Asia/Tokyo'}}`
// means in docker/metadata-action), in English, in any IANA time zone through Intl. A
// token moment knows but this file does not (eras, zone abbreviations) is an error, never
// a silently different tag.
import { ShiplineError } from '../util/errors';

interface Fields {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  weekday: number; // 0 = Sunday
  offset: number; // minutes east of UTC
  epochMs: number;
}

const MONTHS = 'January February March April May June July August September October November December'.split(' ');
const DAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');
const LOCALISED: Record<string, string> = {
  LTS: 'h:mm:ss A',
  LT: 'h:mm A',
  LLLL: 'dddd, MMMM D, YYYY h:mm A',
  LLL: 'MMMM D, YYYY h:mm A',
  LL: 'MMMM D, YYYY',
  L: 'MM/DD/YYYY',
  llll: 'ddd, MMM D, YYYY h:mm A',
  lll: 'MMM D, YYYY h:mm A',
  ll: 'MMM D, YYYY',
  l: 'M/D/YYYY',
};

const invalid = (message: string, data: Record<string, unknown>) =>
  new ShiplineError(message, { kind: 'invalid', data });

const zoneCache = new Map<string, Intl.DateTimeFormat>();
function zoneFormat(tz: string): Intl.DateTimeFormat {
  let f = zoneCache.get(tz);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        weekday: 'short',
      });
    } catch {
      throw invalid(`time zone '${tz}' is unknown (use an IANA name like UTC, Europe/Paris, Asia/Tokyo)`, { tz });
    }
    zoneCache.set(tz, f);
  }
  return f;
}

function fieldsIn(date: Date, tz: string): Fields {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw invalid('the date is not valid', {});
  const ms = ((t % 1000) + 1000) % 1000;
  if (tz === 'UTC' || tz === 'Etc/UTC') {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      ms,
      weekday: date.getUTCDay(),
      offset: 0,
      epochMs: t,
    };
  }
  const parts: Record<string, string> = {};
  for (const p of zoneFormat(tz).formatToParts(date)) parts[p.type] = p.value;
  const n = (k: string) => Number(parts[k]);
  const year = n('year');
  const wall = Date.UTC(year, n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return {
    year,
    month: n('month'),
    day: n('day'),
    hour: n('hour'),
    minute: n('minute'),
    second: n('second'),
    ms,
    weekday: DAYS.findIndex((d) => d.startsWith(parts.weekday ?? '')),
    offset: Math.round((wall - (t - ms)) / 60000),
    epochMs: t,
  };
}

const pad = (n: number, w: number) => (n < 0 ? '-' : '') + String(Math.abs(n)).padStart(w, '0');
function ordinal(n: number): string {
  const b = n % 10;
  const suffix = Math.floor((n % 100) / 10) === 1 ? 'th' : b === 1 ? 'st' : b === 2 ? 'nd' : b === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
}
const dayNumber = (y: number, m: number, d: number) => Math.floor(Date.UTC(y, m - 1, d) / 86400000);

/** Week and week-year (moment's rule: weeks start on `dow`; Jan `7 + dow - doy` is always in week 1). */
function week(f: Fields, dow: number, doy: number): { week: number; year: number } {
  const today = dayNumber(f.year, f.month, f.day);
  const start = today - ((f.weekday - dow + 7) % 7);
  const anchor = new Date((start + (doy - dow)) * 86400000);
  const year = anchor.getUTCFullYear();
  return { week: Math.floor((start + (doy - dow) - dayNumber(year, 1, 1)) / 7) + 1, year };
}

function offsetText(minutes: number, colon: boolean): string {
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60), 2)}${colon ? ':' : ''}${pad(a % 60, 2)}`;
}

function token(tok: string, f: Fields, tz: string): string {
  const h12 = f.hour % 12 || 12;
  const doy = dayNumber(f.year, f.month, f.day) - dayNumber(f.year, 1, 1) + 1;
  switch (tok) {
    case 'M':
      return String(f.month);
    case 'Mo':
      return ordinal(f.month);
    case 'MM':
      return pad(f.month, 2);
    case 'MMM':
      return MONTHS[f.month - 1]!.slice(0, 3);
    case 'MMMM':
      return MONTHS[f.month - 1]!;
    case 'Q':
      return String(Math.ceil(f.month / 3));
    case 'Qo':
      return ordinal(Math.ceil(f.month / 3));
    case 'D':
      return String(f.day);
    case 'Do':
      return ordinal(f.day);
    case 'DD':
      return pad(f.day, 2);
    case 'DDD':
      return String(doy);
    case 'DDDo':
      return ordinal(doy);
    case 'DDDD':
      return pad(doy, 3);
    case 'd':
    case 'e':
      return String(f.weekday);
    case 'do':
      return ordinal(f.weekday);
    case 'dd':
      return DAYS[f.weekday]!.slice(0, 2);
    case 'ddd':
      return DAYS[f.weekday]!.slice(0, 3);
    case 'dddd':
      return DAYS[f.weekday]!;
    case 'E':
      return String(f.weekday || 7);
    case 'w':
      return String(week(f, 0, 6).week);
    case 'wo':
      return ordinal(week(f, 0, 6).week);
    case 'ww':
      return pad(week(f, 0, 6).week, 2);
    case 'W':
      return String(week(f, 1, 4).week);
    case 'Wo':
      return ordinal(week(f, 1, 4).week);
    case 'WW':
      return pad(week(f, 1, 4).week, 2);
    case 'Y':
      return f.year <= 9999 ? pad(f.year, 4) : `+${f.year}`;
    case 'YY':
      return pad(f.year % 100, 2);
    case 'YYYY':
      return pad(f.year, 4);
    case 'YYYYY':
      return pad(f.year, 5);
    case 'YYYYYY':
      return (f.year < 0 ? '-' : '+') + pad(Math.abs(f.year), 6);
    case 'gg':
      return pad(week(f, 0, 6).year % 100, 2);
    case 'gggg':
      return pad(week(f, 0, 6).year, 4);
    case 'ggggg':
      return pad(week(f, 0, 6).year, 5);
    case 'GG':
      return pad(week(f, 1, 4).year % 100, 2);
    case 'GGGG':
      return pad(week(f, 1, 4).year, 4);
    case 'GGGGG':
      return pad(week(f, 1, 4).year, 5);
    case 'a':
      return f.hour < 12 ? 'am' : 'pm';
    case 'A':
      return f.hour < 12 ? 'AM' : 'PM';
    case 'H':
      return String(f.hour);
    case 'HH':
      return pad(f.hour, 2);
    case 'h':
      return String(h12);
    case 'hh':
      return pad(h12, 2);
    case 'k':
      return String(f.hour || 24);
    case 'kk':
      return pad(f.hour || 24, 2);
    case 'm':
      return String(f.minute);
    case 'mm':
      return pad(f.minute, 2);
    case 's':
      return String(f.second);
    case 'ss':
      return pad(f.second, 2);
    case 'Hmm':
      return `${f.hour}${pad(f.minute, 2)}`;
    case 'Hmmss':
      return `${f.hour}${pad(f.minute, 2)}${pad(f.second, 2)}`;
    case 'hmm':
      return `${h12}${pad(f.minute, 2)}`;
    case 'hmmss':
      return `${h12}${pad(f.minute, 2)}${pad(f.second, 2)}`;
    case 'Z':
      return offsetText(f.offset, true);
    case 'ZZ':
      return offsetText(f.offset, false);
    case 'X':
      return String(Math.floor(f.epochMs / 1000));
    case 'x':
      return String(f.epochMs);
    case 'z':
    case 'zz':
      if (f.offset === 0 && /^(Etc\/)?UTC$/.test(tz)) return 'UTC';
      throw invalid(`the date token '${tok}' (zone abbreviation) is not supported; use Z for the offset`, { tok });
  }
  if (/^S{1,9}$/.test(tok)) {
    const digits = tok.length;
    const v = digits <= 3 ? Math.floor(f.ms / 10 ** (3 - digits)) : f.ms * 10 ** (digits - 3);
    return pad(v, digits);
  }
  throw invalid(`the date token '${tok}' is not supported (eras and localised years are not)`, { tok });
}

// moment's tokens, longest first; any other character is itself.
const TOKEN =
  /\[([^[]*)\]|\\(.)|([Hh]mm(?:ss)?|Mo|MMMM|MMM|MM|M|Do|DDDo|DDDD|DDD|DD|D|dddd|ddd|dd|do|d|w[ow]?|W[oW]?|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?|gg(?:ggg?)?|GG(?:GGG?)?|Y|e|E|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?)|([\s\S])/g;

/** `date` rendered with moment `format` in `tz` (no format: moment's default, ISO 8601 to the second). */
export function formatDate(date: Date, format: string | undefined, tz = 'UTC'): string {
  const f = fieldsIn(date, tz);
  let fmt = format ?? (f.offset === 0 ? 'YYYY-MM-DDTHH:mm:ss[Z]' : 'YYYY-MM-DDTHH:mm:ssZ');
  fmt = fmt.replace(/\[[^[]*\]|\\.|(LTS|LT|LL?L?L?|l{1,4})/g, (m, loc: string | undefined) =>
    loc ? LOCALISED[loc]! : m,
  );
  return fmt.replace(
    TOKEN,
    (_m, lit: string | undefined, esc: string | undefined, tok: string | undefined, ch: string | undefined) => {
      if (lit !== undefined) return lit;
      if (esc !== undefined) return esc;
      if (tok !== undefined) return token(tok, f, tz);
      return ch ?? '';
    },
  );
}
