//! SeaORM entities, one module per table. Hand-written queries that belong
//! to a table live in the services that use them.

pub mod account_token;
pub mod api_idempotency;
pub mod api_key;
pub mod audit_event;
pub mod auto_join_domain;
pub mod custom_module;
pub mod custom_role;
pub mod custom_role_level;
pub mod email_change;
pub mod invitation;
pub mod invitation_role;
pub mod member_count;
pub mod membership;
pub mod organization;
pub mod outbox_message;
pub mod product;
pub mod product_grant;
pub mod recovery_code;
pub mod role_assignment;
pub mod sign_in_failure;
pub mod two_factor;
pub mod user;
pub mod user_session;
pub mod workspace;
pub mod workspace_member;
