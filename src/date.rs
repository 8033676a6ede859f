//! Calendar dates (the two-week plan) and UTC timestamps (the unsealing log), with no date
//! crate: both need only day arithmetic and weekdays, which Howard Hinnant's civil-date algorithms give in a few lines
//! (<https://howardhinnant.github.io/date_algorithms.html>).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian calendar date, written `YYYY-MM-DD`. Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, or `None` when the month or day does not exist (2025-02-29).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let d = Date {
            year,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
        };
        // A real date survives the round trip through day numbers; 02-30 becomes 03-02.
        ((1..=12).contains(&month) && day >= 1 && Date::from_days(d.days()) == d).then_some(d)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, String> {
        let bad = || format!("`{text}` is not a date like 2025-03-03");
        let mut parts = text.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(bad);
        let (y, m, d) = (next()?, next()?, next()?);
        let y = y.parse().map_err(|_| bad())?;
        let m = m.parse().map_err(|_| bad())?;
        let d = d.parse().map_err(|_| bad())?;
        Date::new(y, m, d).ok_or_else(|| format!("`{text}` does not exist in the calendar"))
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month.into()
    }

    /// Day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.day.into()
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The date `n` days later (earlier when negative).
    pub fn add_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    /// Day of the week, 0 = Monday ... 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.days() + 3).rem_euclid(7) as u32
    }

    /// Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        self.weekday() >= 5
    }

    /// The calendar date at `unix_seconds` in a zone `utc_offset_seconds` east of UTC.
    pub fn from_unix_seconds(unix_seconds: i64, utc_offset_seconds: i64) -> Date {
        Date::from_days((unix_seconds + utc_offset_seconds).div_euclid(86_400))
    }

    /// Today in UTC. Front ends that know the local offset should prefer
    /// [`Date::from_unix_seconds`]: in UTC+8 the UTC date lags until 08:00.
    pub fn today_utc() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Date::from_unix_seconds(secs, 0)
    }
}

/// `2025-03-01T12:00:00Z` at `time`.
pub fn utc_timestamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        Date::from_unix_seconds(secs, 0),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Date;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date like \"2025-03-03\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Date, E> {
                Date::parse(s).map_err(E::custom)
            }
            // A bare TOML date (`start = 2025-03-03`, no quotes) reaches serde as a one-entry
            // map holding its text; hand-edited files may well use it.
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Date, A::Error> {
                match map.next_entry::<String, String>()? {
                    Some((_, text)) => Date::parse(&text).map_err(serde::de::Error::custom),
                    None => Err(serde::de::Error::custom("expected a date like 2025-03-03")),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn day_numbers_round_trip_known_dates() {
        assert_eq!(date("1970-01-01").days(), 0);
        assert_eq!(date("2000-03-01").days(), 11_017);
        assert_eq!(date("1969-12-31").days(), -1);
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days(days).days(), days);
        }
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2025, 2, 29).is_none());
        assert!(Date::new(2025, 13, 1).is_none());
        assert!(Date::new(2025, 4, 31).is_none());
        assert!(Date::parse("2025-3").is_err());
        assert!(Date::parse("tomorrow").is_err());
    }

    #[test]
    fn weekdays_and_month_boundaries() {
        assert_eq!(date("2025-03-03").weekday(), 0); // a Monday
        assert_eq!(date("2024-12-29").weekday(), 6); // a Sunday
        assert_eq!(date("2025-01-31").add_days(1), date("2025-02-01"));
        assert_eq!(date("2024-12-31").add_days(1), date("2025-01-01"));
        assert_eq!(date("2024-02-28").add_days(1), date("2024-02-29"));
        assert_eq!(date("2025-03-01").add_days(-1), date("2025-02-28"));
    }

    #[test]
    fn unix_seconds_respect_the_offset() {
        // 2025-03-02 20:00 UTC is already 2025-03-03 04:00 in UTC+8.
        let t = date("2025-03-02").days() * 86_400 + 20 * 3600;
        assert_eq!(Date::from_unix_seconds(t, 0), date("2025-03-02"));
        assert_eq!(Date::from_unix_seconds(t, 8 * 3600), date("2025-03-03"));
    }

    #[test]
    fn toml_reads_quoted_and_bare_dates() {
        #[derive(Debug, Deserialize, Serialize)]
        struct T {
            d: Date,
        }
        let t: T = toml::from_str("d = \"2025-03-03\"").unwrap();
        assert_eq!(t.d, date("2025-03-03"));
        let t: T = toml::from_str("d = 2025-03-03").unwrap();
        assert_eq!(t.d, date("2025-03-03"));
        assert_eq!(toml::to_string(&t).unwrap(), "d = \"2025-03-03\"\n");
        let e = toml::from_str::<T>("d = \"2025-02-30\"").unwrap_err();
        assert!(e.message().contains("does not exist"), "{e}");
    }
}
