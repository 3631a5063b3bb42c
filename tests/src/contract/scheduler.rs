//! The `Scheduler` contract: one function per behaviour, each on jobs of a case of its own.

use chrono::{DateTime, TimeZone, Utc};
use portaal_core::domain::{CaseId, Id};
use portaal_core::ports::{Job, Scheduler};

use super::unique;

/// One `#[tokio::test]` per scheduler behaviour. `$make` is an async closure answering the
/// scheduler under test (an `Arc`) and whatever must live as long as the test: `(Arc<S>, keep)`.
#[macro_export]
macro_rules! scheduler_contract_tests {
    ($make:expr) => {
        $crate::__contract_tests!(
            scheduler,
            $make,
            (scheduler, _keep) => (&*scheduler),
            [
                nothing_is_scheduled_before_an_upsert,
                an_upsert_schedules_the_job,
                a_later_upsert_wins,
                remove_unschedules_and_may_be_repeated,
                jobs_have_their_own_schedules,
            ]
        );
    };
}

fn reminder() -> Job {
    Job::Reminder {
        case_id: CaseId::parse(&unique("sched")).unwrap(),
        request_id: Id::from_ulid(ulid::Ulid::new()),
        step: -2,
    }
}

fn first() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2099, 1, 2, 7, 0, 0).unwrap()
}

fn second() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2099, 1, 5, 7, 0, 0).unwrap()
}

pub async fn nothing_is_scheduled_before_an_upsert(scheduler: &dyn Scheduler) {
    assert_eq!(
        scheduler.scheduled_at(&reminder()).await.unwrap(),
        None,
        "no schedule before upsert"
    );
}

pub async fn an_upsert_schedules_the_job(scheduler: &dyn Scheduler) {
    let job = reminder();
    scheduler.upsert(&job, first()).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&job).await.unwrap(), Some(first()));
    scheduler.remove(&job).await.unwrap();
}

/// An upsert of an existing schedule updates it.
pub async fn a_later_upsert_wins(scheduler: &dyn Scheduler) {
    let job = reminder();
    scheduler.upsert(&job, first()).await.unwrap();
    scheduler
        .upsert(&job, second())
        .await
        .expect("upsert of an existing schedule updates it");
    assert_eq!(
        scheduler.scheduled_at(&job).await.unwrap(),
        Some(second()),
        "the later upsert wins"
    );
    scheduler.remove(&job).await.unwrap();
}

/// A removed schedule is gone; removing an absent schedule is fine.
pub async fn remove_unschedules_and_may_be_repeated(scheduler: &dyn Scheduler) {
    let job = reminder();
    scheduler.upsert(&job, first()).await.unwrap();
    scheduler.remove(&job).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&job).await.unwrap(), None, "removed");
    scheduler
        .remove(&job)
        .await
        .expect("removing an absent schedule is fine");
}

/// A purge and a reminder each have a schedule of their own.
pub async fn jobs_have_their_own_schedules(scheduler: &dyn Scheduler) {
    let job = reminder();
    let purge = Job::Purge {
        case_id: CaseId::parse(&unique("sched")).unwrap(),
    };
    scheduler.upsert(&purge, first()).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&purge).await.unwrap(), Some(first()));
    assert_eq!(
        scheduler.scheduled_at(&job).await.unwrap(),
        None,
        "jobs have their own schedules"
    );
    scheduler.remove(&purge).await.unwrap();
}
