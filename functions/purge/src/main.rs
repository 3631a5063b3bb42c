//! Destroys a dossier: invoked by EventBridge Scheduler at expiry, and by the table's stream for
//! TTL removals (the backstop).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use portaal_infra::{Config, System, telemetry};
use purge::PurgeTrigger;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init(true);
    let system = System::build(Config::from_env()?).await?;
    let portaal = &system.portaal;
    lambda_runtime::run(service_fn(|event: LambdaEvent<PurgeTrigger>| async move {
        Ok::<_, Error>(purge::purge(portaal, event.payload).await?)
    }))
    .await
}
