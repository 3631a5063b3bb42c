pub mod dossier;
pub mod lifecycle;
pub mod outbox;
pub mod portal;
pub mod publication;
pub mod request;
pub mod review;
