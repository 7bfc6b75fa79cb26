//! Pure rules, no I/O: validated input types, roles and permissions, the
//! authorization policy, tokens.

pub mod api_key;
pub mod domain_proof;
pub mod email;
pub mod free_mail;
pub mod module;
pub mod names;
pub mod password;
pub mod permission;
pub mod policy;
pub mod product;
pub mod role;
pub mod token;
pub mod totp;
pub mod user_agent;
pub mod workspace;
