//! Sends the mail items a DynamoDB stream batch announces (`ReportBatchItemFailures`), and on a
//! schedule sweeps the outbox for mail a stream retry gave up on.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use portaal_infra::triggers::{self, NotifyTrigger};
use portaal_infra::{Config, System, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(true);
    let system = System::build(Config::from_env()?).await?;
    let outbox = &system.outbox;
    lambda_runtime::run(service_fn(|event: LambdaEvent<NotifyTrigger>| async move {
        Ok::<_, Error>(triggers::notify(outbox, event.payload).await?)
    }))
    .await
}
