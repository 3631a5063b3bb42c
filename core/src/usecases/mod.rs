pub mod dossier;
pub mod lifecycle;
pub mod outbox;
pub mod portal;
pub mod request;
pub mod review;
