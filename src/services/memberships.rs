//! The one place a membership or a direct workspace role is written: who
//! belongs to an organization, and who holds a role in a workspace. Every
//! use case that adds someone (creating an organization, accepting an
//! invitation, joining by domain, granting or handing over a workspace)
//! calls these, and so do the tests' fixtures.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use super::new_id;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{membership, user, workspace_member};

/// Makes `person` a member of `org_id` with `role`, joined `now`;
/// `last_active_at` is 0 ("Never") unless they are active already (the
/// creator of an organization). A unique violation means they already
/// belong.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    person: &user::Model,
    role: OrgRole,
    now: i64,
    last_active_at: i64,
) -> Result<membership::Model, DbErr> {
    membership::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org_id.to_string()),
        user_id: Set(person.id.clone()),
        role: Set(role),
        sort_name: Set(person.name.to_lowercase()),
        email_normalized: Set(person.email_normalized.clone()),
        created_at: Set(now),
        last_active_at: Set(last_active_at),
        products_restricted: Set(false),
    }
    .insert(conn)
    .await
}

/// Gives `user_id` the direct role `role` in a workspace of `org_id`. A
/// unique violation means they already hold one there.
pub async fn insert_direct_role<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    workspace_id: &str,
    user_id: &str,
    role: WorkspaceRole,
    now: i64,
) -> Result<workspace_member::Model, DbErr> {
    workspace_member::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id.to_string()),
        org_id: Set(org_id.to_string()),
        user_id: Set(user_id.to_string()),
        role: Set(role),
        created_at: Set(now),
    }
    .insert(conn)
    .await
}
