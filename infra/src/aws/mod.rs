//! AWS adapters (DynamoDB, S3, SES v2, EventBridge Scheduler).

use crate::config::Config;
use crate::system::{BuildError, System};

pub async fn build(_config: Config) -> Result<System, BuildError> {
    Err(BuildError::Aws(
        "the AWS backend is not part of this build yet".into(),
    ))
}
