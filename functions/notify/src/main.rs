//! Sends the mail items a DynamoDB stream batch announces (`ReportBatchItemFailures`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use portaal_infra::triggers::{self, StreamEvent};
use portaal_infra::{Config, System, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(true);
    let system = System::build(Config::from_env()?).await?;
    let outbox = &system.outbox;
    lambda_runtime::run(service_fn(|event: LambdaEvent<StreamEvent>| async move {
        Ok::<_, Error>(triggers::send_new_mails(outbox, event.payload).await)
    }))
    .await
}
