//! Portaal's core: the domain model, the use cases and the ports they need. No I/O lives here;
//! adapters in `portaal-infra` implement the ports for the embedded default and for AWS.

pub mod casetype;
pub mod content;
pub mod domain;
pub mod error;
pub mod events;
pub mod format;
pub mod localtime;
pub mod mailtext;
pub mod model;
mod partition;
pub mod ports;
pub mod sealing;
pub mod service;
pub mod staff;
pub mod usecases;
pub mod views;

pub use error::{Error, Result};
pub use service::{Portaal, Settings};
/// The audit trail, where callers have always found it.
pub use usecases::audit;
