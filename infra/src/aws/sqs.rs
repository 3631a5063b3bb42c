//! Webhook attempts on an SQS queue: each message names one (subscription, event) pair, delayed
//! by SQS up to its 900-second maximum. Longer waits stay only in the store's `HOOKDUE` index,
//! where the one-minute sweep finds them.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use portaal_core::ports::{HookKey, HookQueue, QueueError};

/// SQS's longest message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Clone, Debug)]
pub struct SqsHookQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsHookQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl HookQueue for SqsHookQueue {
    async fn enqueue(&self, key: &HookKey, delay: Duration) -> Result<(), QueueError> {
        if delay > MAX_DELAY {
            return Ok(());
        }
        let body = serde_json::to_string(key).map_err(|e| QueueError::Backend(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay.as_secs() as i32)
            .send()
            .await
            .map_err(|e| {
                QueueError::Backend(format!("SQS SendMessage: {}", DisplayErrorContext(&e)))
            })?;
        Ok(())
    }
}
