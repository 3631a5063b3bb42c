//! Fires one reminder step; EventBridge Scheduler invokes it with the job as payload.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use portaal_core::ports::Job;
use portaal_infra::{Config, System, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(true);
    let system = System::build(Config::from_env()?).await?;
    let portaal = &system.portaal;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Job>| async move {
        Ok::<_, Error>(reminder::remind(portaal, event.payload).await?)
    }))
    .await
}
