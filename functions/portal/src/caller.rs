//! Who calls the case-system API, as `api::admit` identified them; the audit trail names them.

/// Who called, as the key they gave says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `PORTAAL_API_KEY`.
    CaseSystem,
    /// `PORTAAL_ADMIN_KEY`: case types only.
    Admin,
    /// Behind API Gateway, authorised by IAM: the caller's ARN where the gateway tells it.
    Iam(Option<String>),
}

impl Caller {
    /// The actor audit lines name.
    pub fn actor(&self) -> String {
        match self {
            Caller::CaseSystem => "api-key".into(),
            Caller::Admin => "admin-key".into(),
            Caller::Iam(Some(arn)) => arn.clone(),
            Caller::Iam(None) => "iam".into(),
        }
    }
}
