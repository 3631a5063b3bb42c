//! Dutch local time (Europe/Amsterdam, from the IANA time-zone database in `chrono-tz`): dates
//! people see and deadlines they mean are Dutch, storage stays UTC; and how dates and times read
//! in Dutch or English.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::domain::Language;
use chrono_tz::Europe::Amsterdam;

/// The wall-clock time in the Netherlands at `at`.
pub fn amsterdam(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&Amsterdam).naive_local()
}

/// Today's date in the Netherlands.
pub fn dutch_today(now: DateTime<Utc>) -> NaiveDate {
    amsterdam(now).date()
}

/// The UTC instant of a Dutch wall-clock time (for the autumn hour that occurs twice: the first;
/// for the spring hour that does not exist: the same instant an hour later).
pub fn from_dutch(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match Amsterdam.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => Utc.from_utc_datetime(&(local - chrono::Duration::hours(1))),
    }
}

/// A date as a mail in `language` writes it.
pub fn mail_date(d: NaiveDate, language: Language) -> String {
    match language {
        Language::Nl => dutch_date(d),
        Language::En => d.format("%-d %B %Y").to_string(),
    }
}

/// A moment as a mail in `language` writes it, in Dutch time: `1 december 2026 om 14:05`.
pub fn mail_time(at: DateTime<Utc>, language: Language) -> String {
    let local = amsterdam(at);
    let word = match language {
        Language::Nl => "om",
        Language::En => "at",
    };
    format!(
        "{} {word} {}",
        mail_date(local.date(), language),
        local.format("%H:%M")
    )
}

/// `12 december 2026`: dates in mails read as Dutch text.
pub fn dutch_date(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_dutch_zone_and_its_links_are_compiled_in() {
        // `.cargo/config.toml` filters chrono-tz to Europe/Amsterdam: the whole database is some
        // 30,000 relocated pointers a Lambda pays for at every cold start (docs/performance.md).
        // The filter keeps the zone's links (Amsterdam follows Brussels) and the fixed Etc zones.
        let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        assert!(zones.contains(&"Europe/Amsterdam"));
        assert!(zones.len() < 60, "{} zones compiled in", zones.len());
    }

    #[test]
    fn dutch_dates_turn_at_dutch_midnight() {
        let late = Utc.with_ymd_and_hms(2026, 6, 30, 22, 30, 0).unwrap(); // 00:30 CEST on 1 July
        assert_eq!(
            dutch_today(late),
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        let winter = Utc.with_ymd_and_hms(2026, 12, 31, 22, 30, 0).unwrap(); // 23:30 CET
        assert_eq!(
            dutch_today(winter),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
    }

    #[test]
    fn eight_oclock_dutch_is_six_or_seven_utc() {
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        assert_eq!(
            from_dutch(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(), eight),
            Utc.with_ymd_and_hms(2026, 7, 1, 6, 0, 0).unwrap()
        );
        assert_eq!(
            from_dutch(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), eight),
            Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap()
        );
    }

    #[test]
    fn the_hours_that_summer_time_skips_and_repeats() {
        let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(
            from_dutch(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(), half_past_two),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap(),
            "skipped in spring: an hour later"
        );
        assert_eq!(
            from_dutch(
                NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
                half_past_two
            ),
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(),
            "twice in autumn: the first"
        );
        let switch = Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
        assert_eq!(amsterdam(switch).to_string(), "2026-10-25 02:00:00");
        assert_eq!(
            amsterdam(switch - chrono::Duration::seconds(1)).to_string(),
            "2026-10-25 02:59:59"
        );
    }
}
