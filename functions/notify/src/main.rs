//! Sends the mail items a DynamoDB stream batch announces and sequences its new events
//! (`ReportBatchItemFailures`); makes the webhook attempts an SQS batch carries; records
//! GuardDuty's verdicts and SES's bounces; and on a schedule sweeps the outbox and the webhook
//! index for what a retry gave up on.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use notify::NotifyTrigger;
use portaal_infra::{Config, System, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(true);
    let system = System::build(Config::from_env()?).await?;
    let system = &system;
    lambda_runtime::run(service_fn(|event: LambdaEvent<NotifyTrigger>| async move {
        Ok::<_, Error>(notify::notify(system, event.payload).await?)
    }))
    .await
}
