// strftime(3) as glibc writes it in the C locale, for HAProxy's utime/ltime converters, and the
// broken-down time they format. Dates are computed from the day count, not with Date, so a
// timestamp far beyond Date's range (HAProxy masks to 55 bits) still gives glibc's answer.
export interface BrokenDownTime {
  year: number;
  /** 0..11 */
  mon: number;
  mday: number;
  hour: number;
  min: number;
  sec: number;
  /** 0 = Sunday */
  wday: number;
  /** 0..365 */
  yday: number;
  /** seconds east of UTC, and the zone's abbreviation */
  gmtoff: number;
  zone: string;
  /** the timestamp itself, for %s */
  epoch: bigint;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** gmtime(3): UTC fields of a timestamp in seconds (civil-from-days; exact up to HAProxy's 55 bits). */
export function gmtime(epoch: bigint, gmtoff = 0, zone = 'GMT'): BrokenDownTime {
  const t = epoch + BigInt(gmtoff);
  let d = t / 86400n;
  if (d * 86400n > t) d -= 1n; // floor for dates before 1970
  const days = Number(d);
  const secs = Number(t - d * 86400n);
  // Howard Hinnant's days-to-civil: eras of 400 years starting on March 1st
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const mday = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const mon = mp < 10 ? mp + 2 : mp - 10;
  const year = yoe + era * 400 + (mon <= 1 ? 1 : 0);
  const jan1 = Date.UTC(2000, 0, 1) / 86400000 + yearStartOffset(year);
  return {
    year, mon, mday,
    hour: Math.floor(secs / 3600), min: Math.floor((secs % 3600) / 60), sec: secs % 60,
    wday: (((days + 4) % 7) + 7) % 7,
    yday: days - jan1,
    gmtoff, zone, epoch,
  };
}

/** Days from 2000-01-01 to January 1st of `year`. */
function yearStartOffset(year: number): number {
  const y = year - 1;
  const before = (n: number) => n * 365 + Math.floor(n / 4) - Math.floor(n / 100) + Math.floor(n / 400);
  return before(y) - before(1999);
}

/** localtime(3): the process's time zone, as Date knows it; UTC beyond Date's range. */
export function localtime(epoch: bigint): BrokenDownTime {
  const d = new Date(Number(epoch) * 1000);
  if (Number.isNaN(d.getTime())) return gmtime(epoch, 0, 'UTC');
  const gmtoff = -d.getTimezoneOffset() * 60;
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  return gmtime(epoch, gmtoff, zone);
}

/** ISO 8601 week-based year and week number (%G, %V). */
function isoWeek(tm: BrokenDownTime): [year: number, week: number] {
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  let year = tm.year;
  let week = Math.floor((tm.yday - wdayMon + 10) / 7);
  if (week < 1) {
    year--;
    const prevDays = isLeap(year) ? 366 : 365;
    week = Math.floor((tm.yday + prevDays - wdayMon + 10) / 7);
  } else if (week > 52) {
    const daysInYear = isLeap(year) ? 366 : 365;
    if (tm.yday - wdayMon + 3 >= daysInYear) {
      year++;
      week = 1;
    }
  }
  return [year, week];
}

/** Formats as glibc's strftime in the C locale: flags `_ - 0 ^ #`, a width, and the usual conversions. */
export function strftime(format: string, tm: BrokenDownTime): string {
  return format.replace(/%([_\-0^#]*)(\d*)([a-zA-Z%+])/g, (whole, flags: string, width: string, conv: string) => {
    const num = (n: number, digits: number, pad = '0') => {
      const w = width ? Number(width) : digits;
      const p = flags.includes('-') ? '' : flags.includes('_') ? ' ' : flags.includes('0') ? '0' : pad;
      const neg = n < 0;
      const s = String(Math.abs(n));
      return (neg ? '-' : '') + (p === '' ? s : s.padStart(w - (neg ? 1 : 0), p));
    };
    const text = (s: string) => {
      const v = flags.includes('^') ? s.toUpperCase() : s;
      return width ? v.padStart(Number(width), flags.includes('0') ? '0' : ' ') : v;
    };
    const hour12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
    switch (conv) {
      case 'a': return text(DAYS[tm.wday]!.slice(0, 3));
      case 'A': return text(DAYS[tm.wday]!);
      case 'b': case 'h': return text(MONTHS[tm.mon]!.slice(0, 3));
      case 'B': return text(MONTHS[tm.mon]!);
      case 'c': return text(strftime('%a %b %e %H:%M:%S %Y', tm));
      case 'C': return num(Math.floor(tm.year / 100), 2);
      case 'd': return num(tm.mday, 2);
      case 'D': case 'x': return text(strftime('%m/%d/%y', tm));
      case 'e': return num(tm.mday, 2, ' ');
      case 'F': return text(strftime('%Y-%m-%d', tm));
      case 'G': return num(isoWeek(tm)[0], 1);
      case 'g': return num(((isoWeek(tm)[0] % 100) + 100) % 100, 2);
      case 'H': return num(tm.hour, 2);
      case 'I': return num(hour12, 2);
      case 'j': return num(tm.yday + 1, 3);
      case 'k': return num(tm.hour, 2, ' ');
      case 'l': return num(hour12, 2, ' ');
      case 'm': return num(tm.mon + 1, 2);
      case 'M': return num(tm.min, 2);
      case 'n': return '\n';
      case 'p': return text(tm.hour < 12 ? 'AM' : 'PM');
      case 'P': return text(tm.hour < 12 ? 'am' : 'pm');
      case 'r': return text(strftime('%I:%M:%S %p', tm));
      case 'R': return text(strftime('%H:%M', tm));
      case 's': return tm.epoch.toString();
      case 'S': return num(tm.sec, 2);
      case 't': return '\t';
      case 'T': case 'X': return text(strftime('%H:%M:%S', tm));
      case 'u': return num(tm.wday === 0 ? 7 : tm.wday, 1);
      case 'U': return num(Math.floor((tm.yday + 7 - tm.wday) / 7), 2);
      case 'V': return num(isoWeek(tm)[1], 2);
      case 'w': return num(tm.wday, 1);
      case 'W': return num(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7), 2);
      case 'y': return num(((tm.year % 100) + 100) % 100, 2);
      case 'Y': return num(tm.year, 1);
      case 'z': {
        const m = Math.abs(tm.gmtoff) / 60;
        return `${tm.gmtoff < 0 ? '-' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
      }
      case 'Z': return text(tm.zone);
      case '%': return '%';
      default: return whole; // glibc writes an unknown conversion as it is
    }
  });
}
