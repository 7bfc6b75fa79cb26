//! The organization's Settings pages. Each checks the permission its
//! section names before it reads anything.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::render::{Layout, Section, page};
use super::state::AppState;
use crate::services::orgs::{self, MEMBERS_PER_PAGE, MemberRow};

fn date(ts: &i64) -> String {
    super::format::date(*ts)
}

async fn layout_for(state: &AppState, ctx: &OrgCtx, section: Section) -> Result<Layout, AppError> {
    if let Some(permission) = section.permission() {
        ctx.require(permission)?;
    }
    let orgs = orgs::of_user(&state.db, &ctx.user().id).await?;
    Ok(Layout::org(ctx, orgs, section, section.label()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u64>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    rows: Vec<MemberRow>,
    total: u64,
    page: u64,
    pages: u64,
}

impl MembersPage {
    fn joined(&self, row: &MemberRow) -> String {
        date(&row.joined_at)
    }

    fn last_active(&self, row: &MemberRow) -> String {
        row.last_active_at
            .map(|t| date(&t))
            .unwrap_or_else(|| "Never".into())
    }
}

pub async fn members(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let layout = layout_for(&state, &ctx, Section::Members).await?;
    let page_no = query.page.unwrap_or(1).max(1);
    let (rows, total) = orgs::members_page(&state.db, &ctx.org.id, page_no).await?;
    page(&MembersPage {
        layout,
        rows,
        total,
        page: page_no,
        pages: total.div_ceil(MEMBERS_PER_PAGE).max(1),
    })
}

#[derive(Template)]
#[template(path = "section.html")]
struct SectionPage {
    layout: Layout,
    heading: &'static str,
    empty: &'static str,
}

async fn section(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    section: Section,
    empty: &'static str,
) -> Result<HttpResponse, AppError> {
    let layout = layout_for(&state, &ctx, section).await?;
    page(&SectionPage {
        layout,
        heading: section.label(),
        empty,
    })
}

pub async fn invitations(
    state: web::Data<AppState>,
    ctx: OrgCtx,
) -> Result<HttpResponse, AppError> {
    section(
        state,
        ctx,
        Section::Invitations,
        "No invitations yet. Invitations you send will be listed here with their state.",
    )
    .await
}

pub async fn workspaces(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        state,
        ctx,
        Section::Workspaces,
        "Workspaces group the organization's work; every organization starts with General.",
    )
    .await
}

pub async fn product_access(
    state: web::Data<AppState>,
    ctx: OrgCtx,
) -> Result<HttpResponse, AppError> {
    section(state, ctx, Section::ProductAccess, "No products yet. Once products exist, you can restrict a member to the ones they may view or edit.").await
}

pub async fn general(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        state,
        ctx,
        Section::General,
        "The organization's name and profile.",
    )
    .await
}

pub async fn audit(state: web::Data<AppState>, ctx: OrgCtx) -> Result<HttpResponse, AppError> {
    section(
        state,
        ctx,
        Section::AuditLog,
        "Every change to members, roles, invitations and settings will be listed here.",
    )
    .await
}
