/**
 * A cron expression (5 fields, or 6 with seconds first; `@daily` and friends)
 * as systemd `OnCalendar=` lines. Cron fires when day-of-month OR day-of-week
 * matches if both are restricted; systemd requires both, so that case becomes
 * two lines. Returns an error string for what systemd cannot express.
 *
 * @module
 */

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export function onCalendar(expression: string, timezone?: string): { lines: string[] } | { error: string } {
  const fields = (NICKNAMES[expression.trim().toLowerCase()] ?? expression).trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6)
    return { error: `"${expression}" is not a 5- or 6-field cron expression` };
  const [sec, min, hour, dom, mon, dow] = fields.length === 6 ? fields : ['0', ...fields];
  try {
    const time = `${num(hour!, 0, 23)}:${num(min!, 0, 59)}:${num(sec!, 0, 59)}`;
    const date = (d: string) =>
      `*-${num(
        mon!.toLowerCase().replace(/[a-z]{3}/g, (m) => String(MONTHS.indexOf(m) + 1)),
        1,
        12,
      )}-${d}`;
    const tz = timezone ? ` ${timezone}` : '';
    const domRestricted = dom !== '*' && dom !== '?';
    const dowRestricted = dow !== '*' && dow !== '?';
    if (domRestricted && dowRestricted)
      return { lines: [`${date(num(dom!, 1, 31))} ${time}${tz}`, `${weekdays(dow!)} ${date('*')} ${time}${tz}`] };
    if (dowRestricted) return { lines: [`${weekdays(dow!)} ${date('*')} ${time}${tz}`] };
    return { lines: [`${date(domRestricted ? num(dom!, 1, 31) : '*')} ${time}${tz}`] };
  } catch (err) {
    return { error: `"${expression}": ${(err as Error).message}` };
  }
}

/** A numeric field: `*`, `5`, `1,2`, `1-5` → `1..5`, `*\/15` → `0/15`, `10-50/5` → list. */
function num(field: string, lo: number, hi: number): string {
  if (field === '*' || field === '?') return '*';
  return field
    .split(',')
    .map((part) => {
      const [range, stepText] = part.split('/');
      const step = stepText === undefined ? undefined : Number(stepText);
      if (step !== undefined && !(step > 0)) throw new Error(`bad step in "${part}"`);
      if (range === '*') return step === undefined ? '*' : `${lo}/${step}`;
      const m = /^(\d+)(?:-(\d+))?$/.exec(range!);
      if (!m) throw new Error(`cannot translate "${part}"`);
      const a = Number(m[1]);
      const b = m[2] === undefined ? (step === undefined ? a : hi) : Number(m[2]);
      if (a < lo || b > hi || a > b) throw new Error(`"${part}" is out of range ${lo}-${hi}`);
      if (step === undefined) return a === b ? String(a) : `${a}..${b}`;
      const values: number[] = [];
      for (let v = a; v <= b; v += step) values.push(v);
      return values.join(',');
    })
    .join(',');
}

function weekdays(field: string): string {
  const names = field.toLowerCase().replace(/[a-z]{3}/g, (m) => String(DAYS.findIndex((d) => d.toLowerCase() === m)));
  const list = num(names.replace(/\*/g, '0-7'), 0, 7);
  const days = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b] = part.split('..').map(Number);
    for (let v = a!; v <= (b ?? a!); v++) days.add(v % 7);
  }
  return [...days]
    .sort((x, y) => ((x + 6) % 7) - ((y + 6) % 7))
    .map((d) => DAYS[d])
    .join(',');
}
