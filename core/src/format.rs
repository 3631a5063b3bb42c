//! How dates, times and a dossier's facts read in mails and pages, in Dutch or English.

use crate::mailtext::{Language, Vars};
use crate::model::{Dossier, Request};

use crate::localtime::mail_date;

/// The dossier's variables, dates as a mail in `language` writes them.
pub(crate) fn dossier_vars(d: &Dossier, language: Language) -> Vars {
    let mut v = Vars::new();
    v.insert("case_id", d.case_id.to_string());
    v.insert("case_type", d.case_type_name.clone());
    v.insert("case_type_lower", d.case_type_name.to_lowercase());
    v.insert("title", d.title.clone());
    v.insert("remarks", d.remarks.clone());
    let remarks_block = match (d.remarks.is_empty(), language) {
        (true, _) => String::new(),
        (false, Language::Nl) => format!("Opmerkingen bij de zaak:\n{}", d.remarks),
        (false, Language::En) => format!("Remarks on the case:\n{}", d.remarks),
    };
    v.insert("remarks_block", remarks_block);
    let decision = d.decision.as_ref();
    v.insert(
        "decision_reference",
        decision.map(|x| x.reference.clone()).unwrap_or_default(),
    );
    v.insert(
        "decision_date",
        decision
            .map(|x| mail_date(x.date.0, language))
            .unwrap_or_default(),
    );
    v.insert(
        "decision_subject",
        decision.map(|x| x.subject.clone()).unwrap_or_default(),
    );
    v.insert("handler_name", d.handler.name.clone());
    v.insert("handler_email", d.handler.email.to_string());
    v
}

pub(crate) fn request_vars(v: &mut Vars, r: &Request) {
    v.insert("department", r.department.clone());
    v.insert("due", mail_date(r.due.0, r.language));
    v.insert("message", r.message.clone());
}
