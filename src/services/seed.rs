//! Seed data: a small demo organization (`roster seed-demo`) and a large
//! one for benchmarks (`roster seed-bench`), written with multi-row inserts
//! in large transactions.

use std::time::Instant;

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::audit::{Actor, AuditAction};
use super::{blocking, new_id, orgs};
use crate::clock::Clock;
use crate::db::{CrossOrg, Db};
use crate::domain::names::OrgName;
use crate::domain::password;
use crate::domain::product::Grant;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{
    audit_event, membership, organization, product, product_grant, user, workspace,
    workspace_member,
};

/// What a seed run made.
#[derive(Debug)]
pub struct Seeded {
    pub org: organization::Model,
    pub owner_email: String,
    pub password: String,
    pub members: usize,
    pub member_ids: Vec<String>,
    pub products: usize,
    /// A member restricted to some of the products, when there are any:
    /// (membership id, email).
    pub restricted_member: Option<(String, String)>,
    pub elapsed: std::time::Duration,
}

const BATCH: usize = 500;

/// A deterministic pseudo-random sequence (no need for real randomness in
/// seed data; the same seed gives the same organization).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// How large an organization to make.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    /// People besides the Owner.
    pub members: usize,
    pub workspaces: usize,
    pub products: usize,
    /// Audit rows about the members, spread over three years.
    pub audit_rows: usize,
}

/// Creates an organization owned by `owner_email` with `size.members` more
/// people, `size.workspaces` workspaces and `size.products` products spread
/// over them (every 50th needing an owner). The first plain member is
/// restricted to every 20th product (View; every 100th Edit). Everyone's
/// password is `password`.
pub async fn seed(
    db: &Db,
    clock: &Clock,
    org_name: &str,
    domain: &str,
    size: Size,
    password_text: &str,
) -> anyhow::Result<Seeded> {
    let Size {
        members,
        workspaces,
        products,
        audit_rows,
    } = size;
    let started = Instant::now();
    let now = clock.now();
    let secret = password_text.to_string();
    let hash = blocking(move || password::hash(&secret))
        .await?
        .map_err(|err| anyhow::anyhow!("failed to hash the seed password: {err}"))?;
    let owner_email = format!("owner@{domain}");
    let owner = user::ActiveModel {
        id: Set(new_id()),
        email: Set(owner_email.clone()),
        email_normalized: Set(owner_email.clone()),
        name: Set("Olivia Owner".into()),
        password_hash: Set(hash.clone()),
        email_verified_at: Set(Some(now)),
        session_epoch: Set(0),
        created_at: Set(now),
        last_active_at: Set(Some(now)),
        join_org_id: Set(None),
        two_factor_at: Set(None),
    };
    let txn = db
        .begin_cross_org(CrossOrg::Seed)
        .await
        .context("failed to begin seeding")?;
    let owner = owner
        .insert(&txn)
        .await
        .context("failed to create the owner")?;
    let name = OrgName::parse(org_name).map_err(|e| anyhow::anyhow!(e))?;
    let actor = Actor {
        user_id: Some(owner.id.clone()),
        label: owner.email.clone(),
        address: None,
    };
    let org = orgs::create_in(&txn, &owner, &name, &actor, None, now).await?;
    let extra_workspaces: Vec<workspace::ActiveModel> = (1..workspaces)
        .map(|i| {
            let title = format!("Workspace {i:03}");
            workspace::ActiveModel {
                id: Set(new_id()),
                org_id: Set(org.id.clone()),
                title_normalized: Set(title.to_lowercase()),
                title: Set(title),
                description: Set(String::new()),
                created_at: Set(now),
            }
        })
        .collect();
    let owners: Vec<workspace_member::ActiveModel> = extra_workspaces
        .iter()
        .map(|w| workspace_member::ActiveModel {
            id: Set(new_id()),
            workspace_id: w.id.clone(),
            org_id: Set(org.id.clone()),
            user_id: Set(owner.id.clone()),
            role: Set(WorkspaceRole::Owner),
            created_at: Set(now),
        })
        .collect();
    if !extra_workspaces.is_empty() {
        workspace::Entity::insert_many(extra_workspaces)
            .exec(&txn)
            .await
            .context("failed to create workspaces")?;
        workspace_member::Entity::insert_many(owners)
            .exec(&txn)
            .await
            .context("failed to give the workspaces their owner")?;
    }
    txn.commit()
        .await
        .context("failed to commit the organization")?;

    let mut rng = Lcg(42);
    let mut member_ids = Vec::with_capacity(members.min(1000));
    // People the seeded audit rows are about: (user id, email).
    let mut audited: Vec<(String, String)> = Vec::with_capacity(members.min(1000));
    let mut start = 0;
    while start < members {
        let end = (start + BATCH).min(members);
        let mut users = Vec::with_capacity(end - start);
        let mut memberships = Vec::with_capacity(end - start);
        for i in start..end {
            let user_id = new_id();
            let email = format!("user{i}@{domain}");
            let name = format!(
                "{} {}",
                FIRST[i % FIRST.len()],
                LAST[(i / FIRST.len()) % LAST.len()]
            );
            let role = match rng.next() % 100 {
                0 => OrgRole::Admin,
                1..=70 => OrgRole::Member,
                _ => OrgRole::Viewer,
            };
            let joined = now - (rng.next() % (3 * 365 * 86_400)) as i64;
            let active = if rng.next().is_multiple_of(10) {
                0
            } else {
                joined + (rng.next() % 86_400) as i64
            };
            let membership_id = new_id();
            if member_ids.len() < 1000 && role != OrgRole::Admin {
                member_ids.push(membership_id.clone());
            }
            if audited.len() < 1000 {
                audited.push((user_id.clone(), email.clone()));
            }
            memberships.push(membership::ActiveModel {
                id: Set(membership_id),
                org_id: Set(org.id.clone()),
                user_id: Set(user_id.clone()),
                role: Set(role),
                sort_name: Set(name.to_lowercase()),
                email_normalized: Set(email.clone()),
                created_at: Set(joined),
                last_active_at: Set(active),
                products_restricted: Set(false),
            });
            users.push(user::ActiveModel {
                id: Set(user_id),
                email_normalized: Set(email.clone()),
                email: Set(email),
                name: Set(name),
                password_hash: Set(hash.clone()),
                email_verified_at: Set(Some(joined)),
                session_epoch: Set(0),
                created_at: Set(joined),
                last_active_at: Set((active > 0).then_some(active)),
                join_org_id: Set(None),
                two_factor_at: Set(None),
            });
        }
        let txn = db
            .begin_cross_org(CrossOrg::Seed)
            .await
            .context("failed to begin a batch")?;
        user::Entity::insert_many(users)
            .exec(&txn)
            .await
            .context("failed to insert people")?;
        membership::Entity::insert_many(memberships)
            .exec(&txn)
            .await
            .context("failed to insert memberships")?;
        txn.commit().await.context("failed to commit a batch")?;
        start = end;
    }
    // Fresh statistics (and, on PostgreSQL, a visibility map so pages can
    // be read from indexes alone), as a long-running database would have.
    let maintenance = match db.backend() {
        sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "PRAGMA optimize",
    };
    let restricted_member = seed_products(db, &org, &owner, products, &member_ids, now).await?;
    seed_audit(db, &org, &owner, &audited, audit_rows, now).await?;
    // ANALYZE is the tables' owner's to run.
    db.owner()
        .execute_unprepared(maintenance)
        .await
        .context("failed to refresh statistics")?;
    Ok(Seeded {
        org,
        owner_email,
        password: password_text.to_string(),
        members,
        member_ids,
        products,
        restricted_member,
        elapsed: started.elapsed(),
    })
}

/// Inserts `count` products round-robin over the organization's
/// workspaces, and restricts the first of `member_ids` to some of them.
async fn seed_products(
    db: &Db,
    org: &organization::Model,
    owner: &user::Model,
    count: usize,
    member_ids: &[String],
    now: i64,
) -> anyhow::Result<Option<(String, String)>> {
    if count == 0 {
        return Ok(None);
    }
    let workspace_ids: Vec<String> = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(org.id.as_str()))
        .all(&db.read_cross_org(CrossOrg::Seed).await?)
        .await
        .context("failed to read the workspaces")?
        .into_iter()
        .map(|w| w.id)
        .collect();
    anyhow::ensure!(
        !workspace_ids.is_empty(),
        "the organization has no workspace"
    );
    let restricted = member_ids.first().cloned();
    let mut start = 0;
    while start < count {
        let end = (start + BATCH).min(count);
        let mut rows = Vec::with_capacity(end - start);
        let mut grants = Vec::new();
        for i in start..end {
            let id = new_id();
            let name = format!("{} {i:05}", PRODUCT_WORDS[i % PRODUCT_WORDS.len()]);
            let orphan = i % 50 == 49;
            if let Some(member) = &restricted
                && i % 20 == 0
            {
                grants.push(product_grant::ActiveModel {
                    membership_id: Set(member.clone()),
                    product_id: Set(id.clone()),
                    org_id: Set(org.id.clone()),
                    access: Set(if i % 100 == 0 {
                        Grant::Edit
                    } else {
                        Grant::View
                    }),
                    created_at: Set(now),
                });
            }
            rows.push(product::ActiveModel {
                id: Set(id),
                org_id: Set(org.id.clone()),
                workspace_id: Set(workspace_ids[i % workspace_ids.len()].clone()),
                name_normalized: Set(name.to_lowercase()),
                name: Set(name),
                description: Set(String::new()),
                owner_id: Set((!orphan).then(|| owner.id.clone())),
                needs_owner: Set(orphan),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        let txn = db
            .begin_cross_org(CrossOrg::Seed)
            .await
            .context("failed to begin a batch")?;
        product::Entity::insert_many(rows)
            .exec(&txn)
            .await
            .context("failed to insert products")?;
        if !grants.is_empty() {
            product_grant::Entity::insert_many(grants)
                .exec(&txn)
                .await
                .context("failed to insert grants")?;
        }
        txn.commit().await.context("failed to commit a batch")?;
        start = end;
    }
    let Some(member) = restricted else {
        return Ok(None);
    };
    let txn = db.begin_cross_org(CrossOrg::Seed).await?;
    membership::Entity::update_many()
        .col_expr(membership::Column::ProductsRestricted, Expr::value(true))
        .filter(membership::Column::Id.eq(member.as_str()))
        .exec(&txn)
        .await
        .context("failed to restrict the member")?;
    txn.commit()
        .await
        .context("failed to restrict the member")?;
    let email = membership::Entity::find_by_id(member.clone())
        .one(&db.read_cross_org(CrossOrg::Seed).await?)
        .await
        .context("failed to read the restricted member")?
        .map(|m| m.email_normalized)
        .unwrap_or_default();
    Ok(Some((member, email)))
}

/// Inserts `count` audit rows by the Owner about `audited`, one every few
/// minutes going back from `now`, cycling through a few actions.
async fn seed_audit(
    db: &Db,
    org: &organization::Model,
    owner: &user::Model,
    audited: &[(String, String)],
    count: usize,
    now: i64,
) -> anyhow::Result<()> {
    if audited.is_empty() {
        return Ok(());
    }
    const ACTIONS: [(AuditAction, &str, &str); 4] = [
        (AuditAction::RoleChanged, "member", "viewer"),
        (AuditAction::InvitationSent, "invitation", "member"),
        (AuditAction::WorkspaceRoleGranted, "member", "editor"),
        (
            AuditAction::ProductAccessChanged,
            "member",
            "Atlas 00001: view",
        ),
    ];
    let step = (3 * 365 * 86_400 / count.max(1)).max(1) as i64;
    let mut start = 0;
    while start < count {
        let end = (start + AUDIT_BATCH).min(count);
        let rows: Vec<audit_event::ActiveModel> = (start..end)
            .map(|i| {
                let (user_id, email) = &audited[i % audited.len()];
                let (action, kind, after) = ACTIONS[i % ACTIONS.len()];
                audit_event::ActiveModel {
                    id: Set(new_id()),
                    org_id: Set(Some(org.id.clone())),
                    actor_user_id: Set(Some(owner.id.clone())),
                    actor_label: Set(owner.email.clone()),
                    action: Set(action.as_str().to_string()),
                    target_type: Set(Some(kind.to_string())),
                    target_id: Set(Some(user_id.clone())),
                    target_label: Set(Some(email.clone())),
                    before_value: Set(None),
                    after_value: Set(Some(after.to_string())),
                    address: Set(Some("192.0.2.10".into())),
                    created_at: Set(now - i as i64 * step),
                }
            })
            .collect();
        let txn = db.begin_cross_org(CrossOrg::Seed).await?;
        audit_event::Entity::insert_many(rows)
            .exec(&txn)
            .await
            .context("failed to insert audit rows")?;
        txn.commit().await.context("failed to insert audit rows")?;
        start = end;
    }
    Ok(())
}

/// Audit rows per insert (12 values each, within both backends' limits).
const AUDIT_BATCH: usize = 2000;

const PRODUCT_WORDS: [&str; 8] = [
    "Atlas", "Beacon", "Compass", "Delta", "Ember", "Falcon", "Harbor", "Summit",
];

const FIRST: [&str; 20] = [
    "Ada",
    "Alan",
    "Barbara",
    "Brian",
    "Claude",
    "Dennis",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "John",
    "Ken",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Sophie",
    "Tim",
];

const LAST: [&str; 25] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldberg",
    "Hamilton",
    "Hopper",
    "Iverson",
    "Johnson",
    "Knuth",
    "Lamport",
    "Liskov",
    "McCarthy",
    "Neumann",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Thompson",
    "Turing",
    "Valiant",
    "Wilson",
    "Wirth",
    "Zuse",
];
