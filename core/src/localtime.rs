//! Dutch local time (Europe/Amsterdam) without a time-zone database: dates people see and
//! deadlines they mean are Dutch, storage stays UTC.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_next.pred_opt()?;
    Some(last - Duration::days(i64::from(last.weekday().num_days_from_sunday())))
}

/// Local time in Europe/Amsterdam without a time-zone database: CET (UTC+1), and CEST (UTC+2)
/// from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC (the EU
/// rule since 1996). Older or far-future rule changes are not modelled.
pub fn amsterdam(at: DateTime<Utc>) -> NaiveDateTime {
    let utc = at.naive_utc();
    let year = utc.year();
    let summer = match (last_sunday(year, 3), last_sunday(year, 10)) {
        (Some(start), Some(end)) => {
            let start = start.and_hms_opt(1, 0, 0);
            let end = end.and_hms_opt(1, 0, 0);
            matches!((start, end), (Some(s), Some(e)) if utc >= s && utc < e)
        }
        _ => false,
    };
    utc + Duration::hours(if summer { 2 } else { 1 })
}

/// Today's date in the Netherlands.
pub fn dutch_today(now: DateTime<Utc>) -> NaiveDate {
    amsterdam(now).date()
}

/// The UTC instant of a Dutch wall-clock time (for the autumn hour that occurs twice: the first).
pub fn from_dutch(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    for offset in [2, 1] {
        let candidate = Utc.from_utc_datetime(&(local - Duration::hours(offset)));
        if amsterdam(candidate) == local {
            return candidate;
        }
    }
    // The spring hour that does not exist: the same instant an hour later.
    Utc.from_utc_datetime(&(local - Duration::hours(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
