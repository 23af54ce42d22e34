// docker/metadata-action's `flavor` lines: `latest=auto|true|false`, and a prefix or suffix
// for every tag (`prefix=<text>,onlatest=true` also puts it on `latest`).
import { csvFields } from './csv';
import { compileTemplate, type Template } from './template';
import { GLOBAL_EXPRESSIONS } from './expressions';
import { ShiplineError, isShiplineError } from '../util/errors';

export interface Flavor {
  /** Undefined: not set (the rules' own default). */
  latest: 'auto' | 'true' | 'false' | undefined;
  prefix: Template | undefined;
  prefixLatest: boolean;
  suffix: Template | undefined;
  suffixLatest: boolean;
}

export const NO_FLAVOR: Flavor = {
  latest: undefined,
  prefix: undefined,
  prefixLatest: false,
  suffix: undefined,
  suffixLatest: false,
};

const bad = (line: string, why: string) =>
  new ShiplineError(`flavor '${line}': ${why}`, { kind: 'invalid', data: { flavor: line } });

export function parseFlavor(lines: string[]): Flavor {
  const flavor: Flavor = { ...NO_FLAVOR };
  for (const line of lines) {
    let fields: string[];
    try {
      fields = csvFields(line.trim());
    } catch (err) {
      throw bad(line, isShiplineError(err) ? err.message : String(err));
    }
    let last: 'prefix' | 'suffix' | undefined;
    for (const field of fields) {
      const eq = field.indexOf('=');
      if (eq < 0) throw bad(line, `'${field.trim()}' is not key=value (latest=, prefix=, suffix=, onlatest=)`);
      const key = field.slice(0, eq).trim().toLowerCase();
      const value = field.slice(eq + 1).trim();
      switch (key) {
        case 'latest':
          if (value !== 'auto' && value !== 'true' && value !== 'false')
            throw bad(line, `latest='${value}' (use auto, true or false)`);
          flavor.latest = value;
          break;
        case 'prefix':
        case 'suffix': {
          if (value.includes('=')) throw bad(line, `${key}='${value}': '=' cannot be part of a tag`);
          let t: Template | undefined;
          try {
            t = value === '' ? undefined : compileTemplate(value, GLOBAL_EXPRESSIONS, `in a ${key}`);
          } catch (err) {
            throw bad(line, isShiplineError(err) ? err.message : String(err));
          }
          flavor[key] = t;
          last = key;
          break;
        }
        case 'onlatest':
          if (value !== 'true' && value !== 'false') throw bad(line, `onlatest='${value}' (use true or false)`);
          if (!last) throw bad(line, 'onlatest= follows the prefix= or suffix= it applies to');
          flavor[last === 'prefix' ? 'prefixLatest' : 'suffixLatest'] = value === 'true';
          break;
        default:
          throw bad(line, `'${key}' is not a flavor (use latest, prefix, suffix, onlatest)`);
      }
    }
  }
  return flavor;
}
