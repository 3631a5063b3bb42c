//! GuardDuty Malware Protection for S3's "Object Scan Result" (EventBridge), routed to the
//! `verdict` function by the template's rule.

use portaal_core::ports::Verdict;
use portaal_infra::System;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct ScanResultEvent {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: ScanResultDetail,
}

#[derive(Debug, Deserialize)]
pub struct ScanResultDetail {
    #[serde(rename = "s3ObjectDetails")]
    pub object: ScannedObject,
    #[serde(rename = "scanResultDetails")]
    pub result: ScanResultDetails,
}

#[derive(Debug, Deserialize)]
pub struct ScannedObject {
    #[serde(rename = "objectKey")]
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub struct ScanResultDetails {
    #[serde(rename = "scanResultStatus")]
    pub status: String,
    #[serde(default)]
    pub threats: Option<Vec<Threat>>,
}

#[derive(Debug, Deserialize)]
pub struct Threat {
    #[serde(default)]
    pub name: String,
}

impl ScanResultDetails {
    /// GuardDuty's status as a verdict: only NO_THREATS_FOUND is clean; UNSUPPORTED,
    /// ACCESS_DENIED, FAILED (and anything new) could not vouch for the file.
    pub fn verdict(&self) -> Verdict {
        match self.status.as_str() {
            "NO_THREATS_FOUND" => Verdict::Clean,
            "THREATS_FOUND" => {
                let names: Vec<&str> = self
                    .threats
                    .iter()
                    .flatten()
                    .map(|t| t.name.as_str())
                    .filter(|n| !n.is_empty())
                    .collect();
                Verdict::Infected(if names.is_empty() {
                    "unnamed threat".into()
                } else {
                    names.join(", ")
                })
            }
            other => Verdict::Failed(format!("GuardDuty: {other}")),
        }
    }
}

/// Records the verdict on the scanned document; other detail types are ignored.
pub async fn record_verdict(
    system: &System,
    event: ScanResultEvent,
) -> Result<Value, portaal_core::Error> {
    if event.detail_type != "GuardDuty Malware Protection Object Scan Result" {
        return Ok(serde_json::json!({"ignored": event.detail_type}));
    }
    let verdict = event.detail.result.verdict();
    system
        .portaal
        .record_verdict_for_key(&event.detail.object.key, verdict)
        .await?;
    Ok(serde_json::json!({"recorded": event.detail.result.status}))
}
