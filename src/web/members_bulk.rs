//! Bulk actions on the Members page: change the role of, remove, resend or
//! cancel several rows at once. Two steps, both plain forms: the review
//! lists everyone affected and what each loses; applying runs each row as
//! its own change (its own transaction and audit row), so a refused row
//! changes nothing and the others still apply, and the result reports
//! every row.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::invitations::{log_links, sender};
use super::render::{Layout, Section, html};
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::services::error::ServiceError;
use crate::services::{invitations, members};

/// The most rows one bulk action takes (a page of the list is 50).
pub const MAX_ROWS: usize = 100;

/// What to do to the selected rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BulkAction {
    Role(OrgRole),
    Remove,
    Resend,
    Cancel,
}

impl BulkAction {
    fn as_str(self) -> &'static str {
        match self {
            BulkAction::Role(_) => "role",
            BulkAction::Remove => "remove",
            BulkAction::Resend => "resend",
            BulkAction::Cancel => "cancel",
        }
    }

    fn title(self) -> String {
        match self {
            BulkAction::Role(role) => format!("Change role to {}", role.label()),
            BulkAction::Remove => "Remove from the organization".into(),
            BulkAction::Resend => "Resend invitations".into(),
            BulkAction::Cancel => "Cancel invitations".into(),
        }
    }

    /// Whether the action is for members (else for invitations).
    fn for_members(self) -> bool {
        matches!(self, BulkAction::Role(_) | BulkAction::Remove)
    }
}

/// The submitted form: repeated `member` and `invitation` fields.
#[derive(Debug, Default)]
struct BulkForm {
    action: String,
    role: String,
    members: Vec<String>,
    invitations: Vec<String>,
    confirm: bool,
}

impl BulkForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = BulkForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "action" => form.action = value,
                "role" => form.role = value,
                "member" => form.members.push(value),
                "invitation" => form.invitations.push(value),
                "confirm" => form.confirm = value == "yes",
                _ => {}
            }
        }
        form.members.sort();
        form.members.dedup();
        form.invitations.sort();
        form.invitations.dedup();
        form
    }

    fn validate(&self) -> Result<BulkAction, String> {
        let action = match self.action.as_str() {
            "role" => BulkAction::Role(
                OrgRole::parse(&self.role)
                    .filter(|r| !matches!(r, OrgRole::Owner | OrgRole::None))
                    .ok_or("Choose the new role: Admin, Member or Viewer.")?,
            ),
            "remove" => BulkAction::Remove,
            "resend" => BulkAction::Resend,
            "cancel" => BulkAction::Cancel,
            _ => return Err("Choose what to do with the selected rows.".into()),
        };
        let rows = self.members.len() + self.invitations.len();
        if rows == 0 {
            return Err("Select at least one row: tick the box at the start of each.".into());
        }
        if rows > MAX_ROWS {
            return Err(format!(
                "Select at most {MAX_ROWS} rows at a time; {rows} are selected."
            ));
        }
        if self
            .members
            .iter()
            .chain(&self.invitations)
            .any(|id| id.is_empty() || id.len() > 64)
        {
            return Err("One of the selected rows is not valid; reload the page.".into());
        }
        Ok(action)
    }
}

/// One selected row, as the review and the result show it.
pub struct Item {
    pub kind: &'static str,
    pub id: String,
    /// Who or which invitation.
    pub label: String,
    /// What the action does to them, or why it will not.
    pub detail: String,
    /// `None` in the review; the outcome once applied.
    pub outcome: Option<Result<(), String>>,
}

impl Item {
    pub fn done(&self) -> bool {
        matches!(self.outcome, Some(Ok(())))
    }

    pub fn refusal(&self) -> &str {
        match &self.outcome {
            Some(Err(reason)) => reason,
            _ => "",
        }
    }
}

#[derive(Template)]
#[template(path = "members_bulk.html")]
struct BulkPage {
    layout: Layout,
    org_id: String,
    title: String,
    action: &'static str,
    role: String,
    items: Vec<Item>,
    /// The result (true) or the review (false).
    applied: bool,
    done: usize,
    refused: usize,
}

/// The review (without `confirm=yes`) or the result of a bulk action.
pub async fn review_or_apply(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let form = BulkForm::from_pairs(form.into_inner());
    let action = form.validate().map_err(AppError::Unprocessable)?;
    let mut items = describe(&state, &ctx, action, &form).await?;
    if form.confirm {
        for item in &mut items {
            item.outcome = Some(apply(&state, &ctx, action, item).await?);
        }
    }
    let done = items.iter().filter(|i| i.done()).count();
    let refused = items.iter().filter(|i| !i.refusal().is_empty()).count();
    html(
        StatusCode::OK,
        &BulkPage {
            layout: Layout::org(&ctx, Section::Members, "Bulk action"),
            org_id: ctx.org.id.clone(),
            title: action.title(),
            action: action.as_str(),
            role: form.role.clone(),
            items,
            applied: form.confirm,
            done,
            refused,
        },
    )
}

/// Each selected row with what the action does to it.
async fn describe(
    state: &AppState,
    ctx: &OrgCtx,
    action: BulkAction,
    form: &BulkForm,
) -> Result<Vec<Item>, AppError> {
    let mut items = Vec::with_capacity(form.members.len() + form.invitations.len());
    for id in &form.members {
        let found = members::find(&state.db.read_in(ctx.tenant()).await?, &ctx.org.id, id).await?;
        let (label, detail) = match found {
            None => ("Unknown member".to_string(), NOT_FOUND.to_string()),
            Some(row) => {
                let label = format!("{} <{}>", row.name, row.email);
                let detail = match action {
                    BulkAction::Role(to) if to == row.role => {
                        format!("{} already; nothing changes", to.label())
                    }
                    BulkAction::Role(to) => role_change(row.role, to),
                    BulkAction::Remove => format!(
                        "{}: loses their membership, their workspace roles, custom roles and \
                         product access",
                        row.role.label()
                    ),
                    _ => "Not an invitation: this action leaves them as they are".into(),
                };
                (label, detail)
            }
        };
        items.push(Item {
            kind: "member",
            id: id.clone(),
            label,
            detail,
            outcome: None,
        });
    }
    for id in &form.invitations {
        let found = invitations::find(&state.db, &ctx.org.id, id).await?;
        let (label, detail) = match found {
            None => ("Unknown invitation".to_string(), NOT_FOUND.to_string()),
            Some(row) => {
                let label = format!("Invitation to {}", row.invitation.email);
                let detail = match action {
                    BulkAction::Resend => {
                        "Gets a new email and link; the current link stops working".into()
                    }
                    BulkAction::Cancel => "The link stops working".into(),
                    _ => "Not a member yet: this action leaves the invitation as it is".into(),
                };
                (label, detail)
            }
        };
        items.push(Item {
            kind: "invitation",
            id: id.clone(),
            label,
            detail,
            outcome: None,
        });
    }
    Ok(items)
}

const NOT_FOUND: &str = "Not found in this organization";

/// "Admin → Member: can no longer manage members and invitations, …".
fn role_change(from: OrgRole, to: OrgRole) -> String {
    let kept = to.permissions();
    let lost: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| from.permissions().contains(**p) && !kept.contains(**p))
        .map(|p| p.phrase())
        .collect();
    if lost.is_empty() {
        format!("{} → {}: loses nothing", from.label(), to.label())
    } else {
        format!(
            "{} → {}: can no longer {}",
            from.label(),
            to.label(),
            lost.join(", ")
        )
    }
}

/// Applies the action to one row, in its own transaction: `Err` with the
/// reason when refused (nothing changed for that row).
async fn apply(
    state: &AppState,
    ctx: &OrgCtx,
    action: BulkAction,
    item: &Item,
) -> Result<Result<(), String>, AppError> {
    let for_member = item.kind == "member";
    if for_member != action.for_members() {
        return Ok(Err(if for_member {
            "Only invitations are resent or cancelled".into()
        } else {
            "Only members have roles or can be removed".into()
        }));
    }
    let acting = ctx.acting();
    let result = match action {
        BulkAction::Role(to) => {
            members::change_role(&state.db, &state.clock, &acting, &item.id, to)
                .await
                .map(|_| ())
        }
        BulkAction::Remove => {
            let is_self = members::find(
                &state.db.read_in(ctx.tenant()).await?,
                &ctx.org.id,
                &item.id,
            )
            .await?
            .is_some_and(|row| row.user_id == ctx.user().id);
            if is_self {
                return Ok(Err(
                    "You cannot remove yourself here; use Leave this organization.".into(),
                ));
            }
            members::remove(&state.db, &state.clock, &acting, &item.id)
                .await
                .map(|_| ())
        }
        BulkAction::Resend => invitations::resend(
            &state.db,
            &state.clock,
            &sender(state, ctx, &acting),
            &item.id,
        )
        .await
        .map(|(_, link)| log_links(state, &[link])),
        BulkAction::Cancel => invitations::cancel(&state.db, &state.clock, &acting, &item.id)
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Ok(Ok(())),
        Err(ServiceError::Unexpected(err)) => Err(AppError::Unexpected(err)),
        Err(ServiceError::NotFound) => Ok(Err(NOT_FOUND.into())),
        Err(refused) => Ok(Err(refused.to_string())),
    }
}
