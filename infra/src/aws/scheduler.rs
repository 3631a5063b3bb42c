//! One-time EventBridge Scheduler schedules (`at(...)` in UTC, deleted after completion) whose
//! targets are the `reminder` and `purge` functions, with the [`Job`] as JSON input.

use async_trait::async_trait;
use aws_sdk_scheduler::error::{DisplayErrorContext, SdkError};
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::operation::delete_schedule::DeleteScheduleError;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleError;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleError;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use portaal_core::ports::{Job, ScheduleError, Scheduler};

use super::lazy::LazyClient;

const AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
const TIMEZONE: &str = "UTC";
/// How long, and how often, Scheduler retries a failed invocation before the dead-letter queue.
const RETRY_MAX_AGE_SECS: i32 = 24 * 60 * 60;
const RETRY_MAX_ATTEMPTS: i32 = 10;
/// Create/update races (a schedule completing and deleting itself meanwhile) are retried this often.
const UPSERT_ATTEMPTS: usize = 3;

#[derive(Clone, Debug)]
pub struct EventBridgeScheduler {
    client: LazyClient<aws_sdk_scheduler::Client>,
    group: String,
    targets: Targets,
}

/// What the schedules invoke, and how.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The role Scheduler assumes to invoke the targets.
    pub role_arn: String,
    pub reminder_arn: String,
    pub purge_arn: String,
    /// Where Scheduler puts an invocation it could not make at all.
    pub dead_letter_arn: Option<String>,
}

impl EventBridgeScheduler {
    /// `group` must exist.
    pub fn new(client: aws_sdk_scheduler::Client, group: String, targets: Targets) -> Self {
        Self::lazy(LazyClient::ready(client), group, targets)
    }

    /// As `new`, with the client built at the first schedule call (a page view makes none).
    pub fn lazy(
        client: LazyClient<aws_sdk_scheduler::Client>,
        group: String,
        targets: Targets,
    ) -> Self {
        Self {
            client,
            group,
            targets,
        }
    }

    fn target(&self, job: &Job) -> Result<Target, ScheduleError> {
        let arn = match job {
            Job::Reminder { .. } | Job::Overdue { .. } => &self.targets.reminder_arn,
            Job::Purge { .. } => &self.targets.purge_arn,
        };
        let input = serde_json::to_string(job).map_err(backend)?;
        Target::builder()
            .arn(arn)
            .role_arn(&self.targets.role_arn)
            .input(input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(RETRY_MAX_AGE_SECS)
                    .maximum_retry_attempts(RETRY_MAX_ATTEMPTS)
                    .build(),
            )
            .set_dead_letter_config(
                self.targets
                    .dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(backend)
    }
}

fn backend(e: impl std::fmt::Display) -> ScheduleError {
    ScheduleError::Backend(format!("Scheduler: {e}"))
}

fn sdk_error<E: std::error::Error + 'static>(op: &str, e: E) -> ScheduleError {
    ScheduleError::Backend(format!("Scheduler {op}: {}", DisplayErrorContext(e)))
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC; Scheduler has no sub-second precision, so it is dropped.
pub fn at_expression(at: DateTime<Utc>) -> String {
    format!("at({})", at.format(AT_FORMAT))
}

/// The instant of an `at(...)` expression in `timezone` (UTC when absent).
pub fn parse_at(expression: &str, timezone: Option<&str>) -> Result<DateTime<Utc>, ScheduleError> {
    if let Some(tz) = timezone.filter(|tz| !matches!(*tz, "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT")) {
        return Err(backend(format!(
            "schedule in time zone {tz}; only UTC is supported"
        )));
    }
    let inner = expression
        .trim()
        .strip_prefix("at(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| backend(format!("not a one-time schedule: {expression}")))?;
    NaiveDateTime::parse_from_str(inner.trim(), AT_FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(|e| backend(format!("bad schedule expression {expression}: {e}")))
}

/// A request about the job's schedule: its name, in the group. (Each operation has a builder of
/// its own type; they share no trait.)
macro_rules! about {
    ($self:ident, $job:expr, $builder:expr) => {
        $builder.name($job.schedule_name()).group_name(&$self.group)
    };
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn upsert(&self, job: &Job, at: DateTime<Utc>) -> Result<(), ScheduleError> {
        let name = job.schedule_name();
        let expression = at_expression(at);
        let target = self.target(job)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(backend)?;
        // Create and update take the same parameters on builders of different types.
        macro_rules! with_schedule {
            ($builder:expr) => {
                about!(self, job, $builder)
                    .schedule_expression(&expression)
                    .schedule_expression_timezone(TIMEZONE)
                    .flexible_time_window(window.clone())
                    .target(target.clone())
                    .action_after_completion(ActionAfterCompletion::Delete)
            };
        }
        for _ in 0..UPSERT_ATTEMPTS {
            let created = with_schedule!(self.client.get().create_schedule())
                .send()
                .await;
            let exists =
                |e: &CreateScheduleError| matches!(e, CreateScheduleError::ConflictException(_));
            if unless("CreateSchedule", created, exists)?.is_some() {
                return Ok(());
            }
            // It exists: replace every parameter.
            let updated = with_schedule!(self.client.get().update_schedule())
                .send()
                .await;
            // Deleted in between (completed, or removed): create again.
            let gone = |e: &UpdateScheduleError| {
                matches!(e, UpdateScheduleError::ResourceNotFoundException(_))
            };
            if unless("UpdateSchedule", updated, gone)?.is_some() {
                return Ok(());
            }
        }
        Err(backend(format!(
            "schedule {name} kept changing during create-or-update"
        )))
    }

    async fn remove(&self, job: &Job) -> Result<(), ScheduleError> {
        let deleted = about!(self, job, self.client.get().delete_schedule())
            .send()
            .await;
        // Gone already (completed, or removed before) is as good.
        let gone = |e: &DeleteScheduleError| {
            matches!(e, DeleteScheduleError::ResourceNotFoundException(_))
        };
        unless("DeleteSchedule", deleted, gone)?;
        Ok(())
    }

    async fn scheduled_at(&self, job: &Job) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let got = about!(self, job, self.client.get().get_schedule())
            .send()
            .await;
        let gone =
            |e: &GetScheduleError| matches!(e, GetScheduleError::ResourceNotFoundException(_));
        let Some(out) = unless("GetSchedule", got, gone)? else {
            return Ok(None);
        };
        let expression = out
            .schedule_expression()
            .ok_or_else(|| backend("GetSchedule answered no expression"))?;
        parse_at(expression, out.schedule_expression_timezone()).map(Some)
    }
}

/// An SDK call's answer, unless it failed with the one service error the caller expects: then
/// `None`. Any other error is the call's failure.
fn unless<T, E, R>(
    operation: &str,
    answer: Result<T, SdkError<E, R>>,
    expected: impl Fn(&E) -> bool,
) -> Result<Option<T>, ScheduleError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match answer {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().is_some_and(expected) => Ok(None),
        Err(e) => Err(sdk_error(operation, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn at_expressions_round_trip_in_utc() {
        let at = Utc.with_ymd_and_hms(2099, 1, 2, 7, 0, 5).unwrap();
        assert_eq!(at_expression(at), "at(2099-01-02T07:00:05)");
        assert_eq!(parse_at(&at_expression(at), Some("UTC")).unwrap(), at);
        assert_eq!(parse_at("at(2099-01-02T07:00:05)", None).unwrap(), at);
        assert!(parse_at("rate(5 minutes)", None).is_err());
        assert!(parse_at("at(2099-01-02T07:00:05)", Some("Europe/Amsterdam")).is_err());
    }
}
