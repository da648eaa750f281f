//! Timestamps as ASL reads and writes them (RFC 3339), without a clock.
//!
//! AWS reads timestamps (Choice `Timestamp*` operators, `IsTimestamp`, the Wait
//! state's `Timestamp`/`TimestampPath`) with Java's ISO-8601 "extended offset
//! date-time" format (its runtime errors say so: "cannot be parsed as an
//! ISO-8601 extended offset date-time format string"). [`parse_rfc3339`]
//! accepts exactly that grammar:
//!
//! ```text
//! date   = year "-" MM "-" DD           year: 4 digits, or "-" 4-10 digits, or "+" 5-10 digits
//! time   = HH ":" mm [ ":" ss [ "." 0*9DIGIT ] ]
//! offset = "Z" / ("+" / "-") HH ":" MM [ ":" SS ]   (at most 18:00)
//! value  = date ("T" / "t") time offset          ("z" is accepted for "Z")
//! ```
//!
//! The date and time must exist (no February 30, no hour 24, no leap second),
//! and the offset is mandatory: `2016-12-05T21:29:29` (no zone) and
//! `2016-12-05 21:29:29Z` (space separator) are rejected, as AWS rejects them.
//!
//! The rest of Baton formats its timestamps here too: [`format_millis`] (RFC
//! 3339), [`format_http_date`] (HTTP's `Date`), [`format_basic`] (SigV4's
//! `X-Amz-Date`), and [`UtcParts`] and the calendar helpers for the formats
//! particular to one service.

/// Nanoseconds per second.
const NANOS_PER_SEC: i128 = 1_000_000_000;
/// Nanoseconds per millisecond.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Milliseconds per day.
const MILLIS_PER_DAY: i64 = 86_400_000;
/// Java's `Year.MAX_VALUE`.
const MAX_YEAR: i64 = 999_999_999;

/// Parses an RFC 3339 timestamp into epoch nanoseconds (UTC).
///
/// Returns `None` for anything AWS would not read as a timestamp.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let mut p = Cursor {
        b: s.as_bytes(),
        i: 0,
    };

    let year = p.year()?;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if !matches!(p.next()?, b'T' | b't') {
        return None;
    }

    let hour = p.digits(2)?;
    p.expect(b':')?;
    let minute = p.digits(2)?;
    let mut second = 0;
    let mut nanos: i128 = 0;
    if p.peek() == Some(b':') {
        p.i += 1;
        second = p.digits(2)?;
        if p.peek() == Some(b'.') {
            p.i += 1;
            // Up to nine digits; Java also accepts the point with no digits.
            let mut n = 0;
            while n < 9 {
                match p.peek() {
                    Some(c) if c.is_ascii_digit() => {
                        nanos = nanos * 10 + i128::from(c - b'0');
                        p.i += 1;
                        n += 1;
                    }
                    _ => break,
                }
            }
            for _ in n..9 {
                nanos *= 10;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let offset_secs = p.offset()?;
    if p.i != p.b.len() {
        return None;
    }

    let days = i128::from(days_from_civil(year, month, day));
    let secs =
        days * 86_400 + i128::from(hour * 3600 + minute * 60 + second) - i128::from(offset_secs);
    Some(secs * NANOS_PER_SEC + nanos)
}

/// Parses an RFC 3339 timestamp into epoch milliseconds (UTC), rounding any
/// sub-millisecond part down (towards the past). This is what the Wait state
/// waits for.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let nanos = parse_rfc3339(s)?;
    i64::try_from(nanos.div_euclid(NANOS_PER_MILLI)).ok()
}

/// Whether `s` is a timestamp AWS can read (the `IsTimestamp` test).
pub fn is_timestamp(s: &str) -> bool {
    parse_rfc3339(s).is_some()
}

/// Formats epoch milliseconds as AWS prints them in the Context Object
/// (`$$.Execution.StartTime`, `$$.State.EnteredTime`, ...): UTC, `Z`, always
/// three fractional digits, e.g. `2024-03-06T10:29:14.123Z`.
///
/// Years outside 0000..=9999 are written the ISO way (`+10000`, `-0001`).
pub fn format_millis(ms: i64) -> String {
    let t = UtcParts::from_millis(ms);
    let year = if (0..=9999).contains(&t.year) {
        format!("{:04}", t.year)
    } else if t.year > 9999 {
        format!("+{}", t.year)
    } else {
        format!("-{:04}", t.year.unsigned_abs())
    };
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.month, t.day, t.hour, t.minute, t.second, t.milli
    )
}

/// Formats epoch milliseconds as an HTTP date (RFC 9110's IMF-fixdate, the
/// `Date` header): `Thu, 18 Apr 2024 06:27:01 GMT`. Milliseconds are dropped.
pub fn format_http_date(ms: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = UtcParts::from_millis(ms);
    let weekday = WEEKDAYS[usize::try_from(t.weekday).unwrap_or(0)];
    let month = MONTHS[usize::try_from(t.month - 1).unwrap_or(0)];
    format!(
        "{weekday}, {:02} {month} {} {:02}:{:02}:{:02} GMT",
        t.day, t.year, t.hour, t.minute, t.second
    )
}

/// Formats epoch milliseconds in ISO 8601's basic format to the second, UTC:
/// `20240306T102914Z` (SigV4's `X-Amz-Date`). Milliseconds are dropped.
pub fn format_basic(ms: i64) -> String {
    let t = UtcParts::from_millis(ms);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// An instant in UTC split into its proleptic Gregorian calendar fields,
/// for formats this module does not write itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcParts {
    pub year: i64,
    /// 1..=12.
    pub month: i64,
    /// 1..=31.
    pub day: i64,
    /// 0..=23.
    pub hour: i64,
    /// 0..=59.
    pub minute: i64,
    /// 0..=59.
    pub second: i64,
    /// 0..=999.
    pub milli: i64,
    /// 0 (Monday) ..= 6 (Sunday).
    pub weekday: i64,
}

impl UtcParts {
    /// The fields of an instant given in epoch milliseconds.
    pub fn from_millis(ms: i64) -> Self {
        let days = ms.div_euclid(MILLIS_PER_DAY);
        let in_day = ms.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            milli: in_day % 1000,
            // 1970-01-01 was a Thursday.
            weekday: (days + 3).rem_euclid(7),
        }
    }
}

/// A byte cursor over the text being parsed.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v: i64 = 0;
        for _ in 0..n {
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    }

    /// As many ASCII digits as there are, at most `max`; returns the value and
    /// the count.
    fn run(&mut self, max: usize) -> (i64, usize) {
        let mut v: i64 = 0;
        let mut n = 0;
        while n < max {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    v = v * 10 + i64::from(c - b'0');
                    self.i += 1;
                    n += 1;
                }
                _ => break,
            }
        }
        (v, n)
    }

    /// The year, as Java's strict ISO date reads it: four digits unsigned; a
    /// `+` only when more than four digits follow; `-` with at least four
    /// digits and not zero.
    fn year(&mut self) -> Option<i64> {
        match self.peek()? {
            b'+' => {
                self.i += 1;
                let (v, n) = self.run(10);
                (n > 4 && v <= MAX_YEAR).then_some(v)
            }
            b'-' => {
                self.i += 1;
                let (v, n) = self.run(10);
                (n >= 4 && v != 0 && v <= MAX_YEAR).then_some(-v)
            }
            _ => {
                let (v, n) = self.run(4);
                // A fifth digit would need a `+`.
                let more = self.peek().is_some_and(|c| c.is_ascii_digit());
                (n == 4 && !more).then_some(v)
            }
        }
    }

    /// The zone offset in seconds east of UTC.
    fn offset(&mut self) -> Option<i64> {
        let sign = match self.next()? {
            b'Z' | b'z' => return Some(0),
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hours = self.digits(2)?;
        self.expect(b':')?;
        let minutes = self.digits(2)?;
        let mut seconds = 0;
        if self.peek() == Some(b':') {
            self.i += 1;
            seconds = self.digits(2)?;
        }
        if hours > 18 || minutes > 59 || seconds > 59 {
            return None;
        }
        let total = hours * 3600 + minutes * 60 + seconds;
        if total > 18 * 3600 {
            return None;
        }
        Some(sign * total)
    }
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in `month` (1..=12) of `year`; 0 for any other month.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month 1..=12, day 1..=31)` of a day
/// count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
