//! An organization's seats: everyone who belongs (workspace guests
//! included) and every pending, unexpired invitation, against the limit
//! the operator sets. An invitation holds its seat until it is accepted,
//! cancelled or expires, so a send can never promise more places than
//! there are. Every check runs inside the caller's transaction, under the
//! organization's write lock, so simultaneous sends and acceptances are
//! counted one after the other.

use anyhow::Context;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::error::ServiceError;
use crate::domain::role::OrgRole;
use crate::entities::{member_count, membership, organization};

/// How many seats are taken, and how many the organization has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seats {
    /// Members, workspace guests and pending invitations.
    pub used: u64,
    /// `None` when the operator set no limit.
    pub limit: Option<u64>,
}

impl Seats {
    /// The seats still free; `None` without a limit.
    pub fn left(&self) -> Option<u64> {
        self.limit.map(|limit| limit.saturating_sub(self.used))
    }
}

/// The seats of `org_id` at `now`.
pub async fn of<C: ConnectionTrait>(conn: &C, org_id: &str, now: i64) -> anyhow::Result<Seats> {
    let limit: Option<Option<i64>> = organization::Entity::find_by_id(org_id.to_string())
        .select_only()
        .column(organization::Column::SeatLimit)
        .into_tuple()
        .one(conn)
        .await
        .context("failed to read the seat limit")?;
    let limit = limit.flatten().and_then(|n| u64::try_from(n).ok());
    let members: Vec<i64> = member_count::Entity::find()
        .select_only()
        .column(member_count::Column::Members)
        .filter(member_count::Column::OrgId.eq(org_id))
        .into_tuple()
        .all(conn)
        .await
        .context("failed to count the members")?;
    let members = u64::try_from(members.iter().sum::<i64>()).unwrap_or(0);
    let (pending, _) = super::invitations::waiting_counts(conn, org_id, now).await?;
    Ok(Seats {
        used: members + pending,
        limit,
    })
}

/// Refuses, with how many seats are left and whom to ask, when the
/// change the caller's transaction has just written (taking `added`
/// seats) leaves more seats taken than the limit. Called after the writes
/// and before the commit, so a refusal rolls the whole change back.
pub async fn require_within<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    added: u64,
    now: i64,
) -> Result<(), ServiceError> {
    let seats = of(conn, org_id, now).await?;
    let Some(limit) = seats.limit else {
        return Ok(());
    };
    if seats.used <= limit {
        return Ok(());
    }
    let owner = owner_name(conn, org_id).await?;
    let before = seats.used.saturating_sub(added);
    Err(ServiceError::NoSeats(refusal(before, limit, added, &owner)))
}

/// [`require_within`] for someone joining (accepting an invitation,
/// auto-join), who can free no seat: the refusal tells them whom to ask.
pub async fn require_within_for_joiner<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let seats = of(conn, org_id, now).await?;
    match seats.limit {
        Some(limit) if seats.used > limit => Err(ServiceError::NoSeats(
            "This organization has no seat free for you at the moment. Ask the person who \
             invited you, or the organization's Owner, to free a seat; your link or offer \
             stays valid until then."
                .into(),
        )),
        _ => Ok(()),
    }
}

/// The message of a refusal.
pub fn refusal(used: u64, limit: u64, wanted: u64, owner: &str) -> String {
    let left = limit.saturating_sub(used);
    let seats = |n: u64| if n == 1 { "seat" } else { "seats" };
    let left_text = if left == 0 || wanted == 0 {
        format!("This organization has no seats left ({used} of {limit} used)")
    } else {
        format!(
            "This organization has {left} {} left ({used} of {limit} used) and this needs {wanted}",
            seats(left)
        )
    };
    format!(
        "{left_text}. Members and pending invitations each take a seat: cancel an invitation \
         or remove someone, or ask the Owner, {owner}, to have the limit raised."
    )
}

async fn owner_name<C: ConnectionTrait>(conn: &C, org_id: &str) -> anyhow::Result<String> {
    let owner: Option<String> = membership::Entity::find()
        .select_only()
        .column(crate::entities::user::Column::Name)
        .inner_join(crate::entities::user::Entity)
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Role.eq(OrgRole::Owner))
        .into_tuple()
        .one(conn)
        .await
        .context("failed to find the Owner")?;
    Ok(owner.unwrap_or_else(|| "the Owner".into()))
}

/// Sets an organization's limit (`None` removes it): the operator's
/// command, audited in the operator's name. A limit below the seats taken
/// removes nobody: it stops new people until enough seats are free.
/// Returns the seats as they are now, or `None` for an unknown
/// organization.
pub async fn set_limit(
    db: &crate::db::Db,
    clock: &crate::clock::Clock,
    org_id: &str,
    limit: Option<u64>,
) -> anyhow::Result<Option<Seats>> {
    use sea_orm::sea_query::Expr;
    let now = clock.now();
    let txn = db.begin_org_write(crate::db::Tenant::org(org_id)).await?;
    let Some(before) = organization::Entity::find_by_id(org_id.to_string())
        .one(&txn)
        .await
        .context("failed to find the organization")?
    else {
        return Ok(None);
    };
    let value = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    organization::Entity::update_many()
        .col_expr(organization::Column::SeatLimit, Expr::value(value))
        .filter(organization::Column::Id.eq(org_id))
        .exec(&txn)
        .await
        .context("failed to set the seat limit")?;
    let shown = |n: Option<i64>| n.map_or_else(|| "no limit".to_string(), |n| n.to_string());
    super::audit::record(
        &txn,
        &super::audit::Actor {
            user_id: None,
            label: "operator (command line)".into(),
            address: None,
        },
        super::audit::Entry {
            org_id: Some(org_id),
            action: super::audit::AuditAction::SeatLimitChanged,
            target_type: Some("organization"),
            target_id: Some(org_id),
            target_label: Some(&before.name),
            before: Some(shown(before.seat_limit)),
            after: Some(shown(value)),
        },
        now,
    )
    .await?;
    let seats = of(&txn, org_id, now).await?;
    txn.commit()
        .await
        .context("failed to commit the seat limit")?;
    Ok(Some(seats))
}

/// Parses the operator's limit: a whole number of at least 1, or `none`.
pub fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match text.parse::<u64>() {
        Ok(n) if (1..=1_000_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "The seat limit must be a whole number from 1 to 1000000000, or none; got {text:?}."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_how_many_seats_are_left_and_whom_to_ask() {
        let none = refusal(3, 3, 1, "Olivia");
        assert!(none.starts_with("This organization has no seats left (3 of 3 used)."));
        assert!(none.contains("ask the Owner, Olivia"));
        let some = refusal(8, 10, 5, "Olivia");
        assert!(
            some.starts_with("This organization has 2 seats left (8 of 10 used) and this needs 5.")
        );
        let one = refusal(9, 10, 3, "Olivia");
        assert!(one.contains("has 1 seat left"));
    }

    #[test]
    fn a_limit_is_a_positive_number_or_none() {
        assert_eq!(parse_limit("none"), Ok(None));
        assert_eq!(parse_limit(" NONE "), Ok(None));
        assert_eq!(parse_limit("25"), Ok(Some(25)));
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("-3").is_err());
        assert!(parse_limit("ten").is_err());
        assert!(parse_limit("").is_err());
    }

    #[test]
    fn seats_left_never_go_below_zero() {
        let over = Seats {
            used: 12,
            limit: Some(10),
        };
        assert_eq!(over.left(), Some(0));
        let unlimited = Seats {
            used: 12,
            limit: None,
        };
        assert_eq!(unlimited.left(), None);
    }
}
