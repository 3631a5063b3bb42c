//! AWS adapters behind the same ports as the embedded ones. Endpoints come from the SDK's standard
//! variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, …), so emulators need no code path of their own.

pub mod dynamo;
pub mod metrics;
pub mod s3;
pub mod scheduler;
pub mod ses;

use crate::config::Config;
use crate::system::{BuildError, System};

pub async fn build(_config: Config) -> Result<System, BuildError> {
    Err(BuildError::Aws("the AWS backend is being wired".into()))
}
