//! The `reminder` function: EventBridge Scheduler invokes it with a reminder step's job.

use portaal_core::Portaal;
use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;

/// Runs the scheduled reminder job; an error makes Scheduler retry.
pub async fn remind(portaal: &Portaal, job: Job) -> Result<JobOutcome, portaal_core::Error> {
    match job {
        Job::Reminder { .. } | Job::Overdue { .. } => portaal.run_job(&job).await,
        Job::Purge { .. } => Err(portaal_core::Error::invalid(
            "reminder was sent a purge job",
        )),
    }
}
