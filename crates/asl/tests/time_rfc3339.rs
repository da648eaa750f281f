//! Timestamp parsing and formatting edge cases.
//!
//! What AWS accepts is Java's ISO-8601 "extended offset date-time" grammar; the
//! rejected forms below are the ones AWS rejected in recorded runs
//! (LocalStack `scenarios/test_base_scenarios.snapshot.json`,
//! `test_wait_timestamp_path[NO_T|NO_Z|INVALID_DATE|INVALID_TIME]`).

use baton_asl::time::{
    UtcParts, civil_from_days, days_from_civil, days_in_month, format_basic, format_http_date,
    format_millis, is_timestamp, parse_rfc3339, parse_rfc3339_millis,
};

const S: i128 = 1_000_000_000;

#[test]
fn utc_with_z() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339("2012-10-09T19:00:55Z"),
        Some(1_349_809_255 * S)
    );
    assert_eq!(
        parse_rfc3339("2016-03-14T01:59:00Z"),
        Some(1_457_920_740 * S)
    );
}

#[test]
fn offsets_denote_the_same_instant() {
    let z = parse_rfc3339("2012-10-09T19:00:55Z");
    assert_eq!(parse_rfc3339("2012-10-09T20:00:55+01:00"), z);
    assert_eq!(parse_rfc3339("2012-10-09T14:30:55-04:30"), z);
    assert_eq!(parse_rfc3339("2012-10-09T19:00:55+00:00"), z);
    assert_eq!(parse_rfc3339("2012-10-09T19:00:55-00:00"), z);
    // Offset seconds (Java's +HH:MM:ss).
    assert_eq!(parse_rfc3339("2012-10-09T19:01:05+00:00:10"), z);
    // The offset moves across the date line.
    assert_eq!(parse_rfc3339("2012-10-10T04:00:55+09:00"), z);
    // "+01:00" is one hour east: earlier than the same wall time in UTC.
    assert!(parse_rfc3339("2012-10-09T19:00:55+01:00") < z);
}

#[test]
fn fractions_up_to_nanoseconds() {
    let base = 1_480_973_369 * S;
    assert_eq!(
        parse_rfc3339("2016-12-05T21:29:29.1Z"),
        Some(base + 100_000_000)
    );
    assert_eq!(
        parse_rfc3339("2016-12-05T21:29:29.123Z"),
        Some(base + 123_000_000)
    );
    assert_eq!(
        parse_rfc3339("2016-12-05T21:29:29.123456789Z"),
        Some(base + 123_456_789)
    );
    assert_eq!(parse_rfc3339("2016-12-05T21:29:29.000Z"), Some(base));
    // Ten digits is one too many.
    assert_eq!(parse_rfc3339("2016-12-05T21:29:29.1234567891Z"), None);
    // Java reads a bare decimal point as a zero fraction.
    assert_eq!(parse_rfc3339("2016-12-05T21:29:29.Z"), Some(base));
    // A fraction needs seconds.
    assert_eq!(parse_rfc3339("2016-12-05T21:29.5Z"), None);
}

#[test]
fn seconds_are_optional_and_case_does_not_matter() {
    assert_eq!(
        parse_rfc3339("2016-12-05T21:29Z"),
        parse_rfc3339("2016-12-05T21:29:00Z")
    );
    assert_eq!(
        parse_rfc3339("2016-12-05t21:29:29z"),
        parse_rfc3339("2016-12-05T21:29:29Z")
    );
}

#[test]
fn what_aws_rejects() {
    for bad in [
        "2016-12-05 21:29:29Z", // NO_T
        "2016-12-05T21:29:29",  // NO_Z
        "2016-13-05T21:29:29Z", // INVALID_DATE
        "2016-12-05T25:29:29Z", // INVALID_TIME
        "2016-02-30T21:29:29Z", // no such day
        "2015-02-29T00:00:00Z", // not a leap year
        "2016-12-05T24:00:00Z", // hour 24
        "2016-12-05T23:59:60Z", // leap second
        "2016-12-05T23:60:00Z", // minute 60
        "2016-12-05T21Z",       // minutes are required
        "2016-12-05",           // a date alone
        "2023-02-24 12:15:56.832957",
        "2016-12-05T21:29:29+0100",  // offset without colon
        "2016-12-05T21:29:29+01",    // offset without minutes
        "2016-12-05T21:29:29+19:00", // beyond +18:00
        "2016-12-05T21:29:29+18:00:01",
        "2016-12-05T21:29:29UTC",
        "2016-12-05T21:29:29Z ", // trailing text
        " 2016-12-05T21:29:29Z",
        "16-12-05T21:29:29Z",
        "+2016-12-05T21:29:29Z", // "+" only for more than four digits
        "20160-12-05T21:29:29Z", // five digits need a sign
        "-0000-01-01T00:00:00Z", // negative zero year
        "2016-1-05T21:29:29Z",
        "2016-12-5T21:29:29Z",
        "2016-12-05T1:29:29Z",
        "2016-12-05T21:29:29.Zx",
        "",
        "date",
        "2016-12-05T21:29:29Ｚ",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad:?} must be rejected");
        assert!(!is_timestamp(bad));
    }
}

#[test]
fn leap_days_and_extreme_years() {
    assert!(is_timestamp("2016-02-29T00:00:00Z"));
    assert!(is_timestamp("2000-02-29T00:00:00Z"));
    assert!(!is_timestamp("1900-02-29T00:00:00Z"));
    assert_eq!(
        parse_rfc3339("0000-01-01T00:00:00Z"),
        Some(-62_167_219_200 * S)
    );
    assert_eq!(
        parse_rfc3339("9999-12-31T23:59:59Z"),
        Some(253_402_300_799 * S)
    );
    assert_eq!(
        parse_rfc3339("+10000-01-01T00:00:00Z"),
        Some(253_402_300_800 * S)
    );
    assert_eq!(
        parse_rfc3339("-0001-12-31T23:59:59Z"),
        Some(-62_167_219_201 * S)
    );
    assert!(parse_rfc3339("+999999999-12-31T23:59:59Z").is_some());
    assert!(parse_rfc3339("+1000000000-01-01T00:00:00Z").is_none());
    assert!(parse_rfc3339("1969-12-31T23:59:59.999Z") == Some(-S / 1000));
}

#[test]
fn millis_for_the_wait_state() {
    assert_eq!(
        parse_rfc3339_millis("2024-03-06T10:29:14.123Z"),
        Some(1_709_720_954_123)
    );
    assert_eq!(
        parse_rfc3339_millis("2024-03-06T10:29:14.123999999Z"),
        Some(1_709_720_954_123)
    );
    // Sub-millisecond parts round towards the past, also before 1970.
    assert_eq!(parse_rfc3339_millis("1969-12-31T23:59:59.9995Z"), Some(-1));
    assert_eq!(parse_rfc3339_millis("not a time"), None);
    // Beyond i64 milliseconds is still a valid timestamp, but not a wait target.
    assert!(parse_rfc3339_millis("+999999999-12-31T23:59:59Z").is_none());
}

#[test]
fn format_like_the_context_object() {
    assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_millis(1_709_720_954_123), "2024-03-06T10:29:14.123Z");
    // Trailing zeros are kept (AWS prints e.g. "2024-04-24T06:27:25.830Z").
    assert_eq!(format_millis(1_713_940_045_830), "2024-04-24T06:27:25.830Z");
    assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
    assert_eq!(format_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(
        format_millis(253_402_300_799_999),
        "9999-12-31T23:59:59.999Z"
    );
    assert_eq!(
        format_millis(253_402_300_800_000),
        "+10000-01-01T00:00:00.000Z"
    );
    assert_eq!(
        format_millis(-62_167_219_201_000),
        "-0001-12-31T23:59:59.000Z"
    );
    // No panic at the ends of the range.
    assert!(!format_millis(i64::MAX).is_empty());
    assert!(!format_millis(i64::MIN).is_empty());
}

#[test]
fn format_and_parse_round_trip() {
    for ms in [
        0i64,
        1,
        999,
        1000,
        86_399_999,
        1_709_720_954_123,
        -86_400_001,
        4_102_444_800_000,
        -2_208_988_800_000,
    ] {
        let text = format_millis(ms);
        assert_eq!(parse_rfc3339_millis(&text), Some(ms), "{text}");
    }
    // Every day over several 400-year cycles round-trips through the civil calendar.
    let day = 86_400_000i64;
    let mut ms = -1_000 * 366 * day;
    while ms < 1_000 * 366 * day {
        assert_eq!(parse_rfc3339_millis(&format_millis(ms)), Some(ms));
        ms += 7 * day + 1;
    }
}

#[test]
fn http_dates() {
    assert_eq!(
        format_http_date(1_713_421_621_000),
        "Thu, 18 Apr 2024 06:27:01 GMT"
    );
    assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    // Milliseconds are dropped, not rounded.
    assert_eq!(
        format_http_date(784_111_777_999),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    // Before the epoch, on a leap day.
    assert_eq!(
        format_http_date(-2_203_891_200_000),
        "Thu, 01 Mar 1900 00:00:00 GMT"
    );
    assert_eq!(
        format_http_date(951_782_400_000),
        "Tue, 29 Feb 2000 00:00:00 GMT"
    );
}

#[test]
fn basic_format() {
    assert_eq!(format_basic(1_709_720_954_123), "20240306T102914Z");
    assert_eq!(format_basic(1_440_938_160_000), "20150830T123600Z");
    assert_eq!(format_basic(951_782_400_000), "20000229T000000Z");
    assert_eq!(format_basic(0), "19700101T000000Z");
}

#[test]
fn parts_and_calendar() {
    let t = UtcParts::from_millis(1_700_000_000_123);
    assert_eq!(
        (t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli),
        (2023, 11, 14, 22, 13, 20, 123)
    );
    assert_eq!(t.weekday, 1, "a Tuesday");
    let t = UtcParts::from_millis(-1);
    assert_eq!(
        (
            t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli, t.weekday
        ),
        (1969, 12, 31, 23, 59, 59, 999, 2)
    );
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    for days in (-800_000..800_000).step_by(997) {
        let (y, m, d) = civil_from_days(days);
        assert!((1..=days_in_month(y, m)).contains(&d));
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(days_in_month(2024, 2), 29);
    assert_eq!(days_in_month(1900, 2), 28);
    assert_eq!(days_in_month(2000, 2), 29);
    assert_eq!(days_in_month(2023, 13), 0);
}
