//! Where a Generation's files live (DESIGN.md, "Artifact layout"): an [`ArtifactStore`] of bytes under
//! relative keys in a local directory ([`LocalStore`]) or an S3 bucket ([`S3Store`]), an append-only
//! event log in chunks, download URLs, grants that let a task without credentials reach its own
//! files in S3, and the pure [`Layout`] that names each file.
//! It must never touch anything outside the store's root, nor interpret what the files mean.

mod error;
mod grant;
mod key;
mod layout;
mod local;
mod open;
mod s3;
mod store;

pub use error::{ArtifactError, Result};
pub use grant::{Grant, GrantRequest, Upload};
pub use layout::Layout;
pub use local::LocalStore;
pub use open::{open, open_object};
pub use s3::{S3Config, S3Store, aws_config_loader, error_chain, load_aws_config};
pub use store::ArtifactStore;
