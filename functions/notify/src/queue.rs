//! The webhook queue (the `webhook` function): one attempt per SQS message, all of a batch at
//! once, so one slow receiver does not hold up the others.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsMessage};
use portaal_core::ports::HookKey;
use portaal_core::usecases::webhooks::Webhooks;

/// Makes the attempts; a message whose attempt could not even be recorded is reported for retry.
pub async fn attempt_webhooks(webhooks: &Webhooks, messages: &[SqsMessage]) -> SqsBatchResponse {
    let attempts = messages.iter().map(|message| async move {
        let body = message.body.as_deref().unwrap_or_default();
        let ok = match serde_json::from_str::<HookKey>(body) {
            Ok(key) => match webhooks.attempt(&key).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::error!(error = %e, "webhook attempt failed");
                    false
                }
            },
            Err(e) => {
                // Not ours: retrying cannot help.
                tracing::error!(error = %e, "queue message is not a webhook attempt");
                true
            }
        };
        (!ok).then(|| message.message_id.clone().unwrap_or_default())
    });
    let mut response = SqsBatchResponse::default();
    response.set_failures(
        futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .flatten(),
    );
    response
}
