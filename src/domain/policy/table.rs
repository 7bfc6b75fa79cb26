//! The policy's own table: every role × every action, per scope, each
//! cell answered by [`authorize`] itself. `roster permissions` prints it,
//! `docs/PERMISSIONS.md` is generated from it (a test fails when they
//! differ), and the app shows it beside every role select.

use super::{Action, ProductAction, Roles, authorize};
use crate::domain::permission::Permission;
use crate::domain::product::Grant;
use crate::domain::role::OrgRole;
use crate::domain::workspace::{WorkspaceRole, WsPermission};

/// Where an action happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Organization,
    Workspace,
    Product,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Organization, Scope::Workspace, Scope::Product];

    pub fn title(self) -> &'static str {
        match self {
            Scope::Organization => "In the organization",
            Scope::Workspace => "In a workspace",
            Scope::Product => "On a product",
        }
    }

    /// What the columns are.
    pub fn intro(self) -> &'static str {
        match self {
            Scope::Organization => {
                "By organization role. A workspace guest has no organization role, only \
                 direct roles in some workspaces."
            }
            Scope::Workspace => {
                "By the highest role held in the workspace, direct or passed down from the \
                 organization role: an organization Admin holds Admin in every workspace, a \
                 Member Editor, a Viewer Viewer; the organization's Owner has the workspace \
                 Owner's powers in every workspace. Inviting someone with an organization \
                 role into a workspace also needs the organization's right to invite; \
                 inviting a workspace guest needs only the right here. Custom roles add \
                 to these (Settings → Roles)."
            }
            Scope::Product => {
                "By workspace role and product restriction. Admins and the Owner are never \
                 restricted; a restricted member sees only the products granted to them, and \
                 a grant never adds to what their workspace role allows."
            }
        }
    }
}

/// One scope's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub scope: Scope,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub action: &'static str,
    /// One answer per column.
    pub allowed: Vec<bool>,
}

/// An action as it depends on who asks (their own role, for actions on
/// themselves).
type ActionFor = fn(OrgRole) -> Action;

/// The organization's actions, in the order the table lists them.
pub(super) fn organization_actions() -> Vec<(&'static str, ActionFor)> {
    let mut actions: Vec<(&'static str, ActionFor)> = vec![
        ("See the member list", |_| {
            Action::Use(Permission::ViewMembers)
        }),
        ("See the organization's settings", |_| {
            Action::Use(Permission::ViewSettings)
        }),
        ("See the workspace list", |_| {
            Action::Use(Permission::ViewWorkspaces)
        }),
        ("Manage members and invitations", |_| {
            Action::Use(Permission::ManageMembers)
        }),
        ("Edit the organization's settings", |_| {
            Action::Use(Permission::EditSettings)
        }),
        ("Set auto-join domains", |_| {
            Action::Use(Permission::ManageAutoJoin)
        }),
        ("Create workspaces", |_| {
            Action::Use(Permission::CreateWorkspaces)
        }),
        ("Restrict members to products", |_| {
            Action::Use(Permission::ManageProductAccess)
        }),
        ("Read and export the audit log", |_| {
            Action::Use(Permission::ReadAuditLog)
        }),
        ("Create and edit products", |_| {
            Action::Use(Permission::EditProducts)
        }),
        ("Delete products", |_| {
            Action::Use(Permission::DeleteProducts)
        }),
        ("Transfer ownership", |_| {
            Action::Use(Permission::TransferOwnership)
        }),
        ("Delete the organization", |_| {
            Action::Use(Permission::DeleteOrganization)
        }),
        ("Create personal API keys", |_| {
            Action::Use(Permission::UsePersonalKeys)
        }),
        ("Manage the organization's API keys", |_| {
            Action::Use(Permission::ManageApiKeys)
        }),
        ("Define custom roles", |_| {
            Action::Use(Permission::ManageRoles)
        }),
        ("Add the organization's own modules", |_| {
            Action::Use(Permission::ManageModules)
        }),
    ];
    actions.extend([
        (
            "Invite a Viewer or a Member",
            (|_| Action::Invite {
                role: OrgRole::Member,
            }) as ActionFor,
        ),
        ("Invite an Admin", |_| Action::Invite {
            role: OrgRole::Admin,
        }),
        ("Invite a workspace guest", |_| Action::Invite {
            role: OrgRole::None,
        }),
        ("Invite an Owner (ownership is only transferred)", |_| {
            Action::Invite {
                role: OrgRole::Owner,
            }
        }),
        ("Change a Member's role to Viewer", |_| Action::ChangeRole {
            from: OrgRole::Member,
            to: OrgRole::Viewer,
            is_self: false,
        }),
        ("Make a Member an Admin", |_| Action::ChangeRole {
            from: OrgRole::Member,
            to: OrgRole::Admin,
            is_self: false,
        }),
        ("Change an Admin's role", |_| Action::ChangeRole {
            from: OrgRole::Admin,
            to: OrgRole::Member,
            is_self: false,
        }),
        ("Change the Owner's role", |_| Action::ChangeRole {
            from: OrgRole::Owner,
            to: OrgRole::Admin,
            is_self: false,
        }),
        ("Lower their own role to Viewer", |me| Action::ChangeRole {
            from: me,
            to: OrgRole::Viewer,
            is_self: true,
        }),
        ("Remove a Viewer or a Member", |_| Action::Remove {
            target: OrgRole::Member,
            is_self: false,
        }),
        ("Remove an Admin", |_| Action::Remove {
            target: OrgRole::Admin,
            is_self: false,
        }),
        ("Remove the Owner", |_| Action::Remove {
            target: OrgRole::Owner,
            is_self: false,
        }),
        ("Leave the organization", |_| Action::Leave),
        ("Make an organization API key with the Admin role", |_| {
            Action::CreateApiKey {
                role: OrgRole::Admin,
            }
        }),
        ("Make another member the Owner", |_| {
            Action::TransferOwnership {
                target: OrgRole::Member,
                is_self: false,
            }
        }),
    ]);
    actions
}

pub(super) fn workspace_actions() -> Vec<(&'static str, Action)> {
    use WorkspaceRole::{Admin, Editor, Owner};
    use WsPermission::*;
    let may = Action::InWorkspace;
    let set = |current, to| Action::SetWorkspaceRole { current, to };
    let invite = |role| Action::InviteToWorkspace { role };
    let move_where = |destination| Action::MoveWorkspace {
        destination: Some(destination),
    };
    vec![
        ("See the workspace and who has access", may(View)),
        ("Create and edit its products", may(EditProducts)),
        ("Delete its products", may(DeleteProducts)),
        ("Choose who owns a product", may(AssignProductOwners)),
        ("Rename it, change its description", may(EditDetails)),
        ("Manage its direct roles", may(ManageMembers)),
        ("Transfer its ownership, delete it", may(OwnWorkspace)),
        (
            "Give a direct Viewer or Editor role",
            set(None, Some(Editor)),
        ),
        ("Give a direct Admin role", set(None, Some(Admin))),
        (
            "Change or take away a direct Admin role",
            set(Some(Admin), None),
        ),
        (
            "Give or take away the Owner role (it is only transferred)",
            set(None, Some(Owner)),
        ),
        ("Invite someone into it as an Editor", invite(Editor)),
        ("Invite someone into it as an Admin", invite(Admin)),
        (
            "Move it to an organization where they are an Admin or the Owner",
            move_where(OrgRole::Admin),
        ),
        (
            "Move it to an organization where they are a Member",
            move_where(OrgRole::Member),
        ),
    ]
}

fn workspace_columns() -> Vec<(&'static str, Roles)> {
    let held = |role| Roles::in_workspace(OrgRole::None, role);
    vec![
        ("Owner", held(Some(WorkspaceRole::Owner))),
        ("Admin", held(Some(WorkspaceRole::Admin))),
        ("Editor", held(Some(WorkspaceRole::Editor))),
        ("Viewer", held(Some(WorkspaceRole::Viewer))),
        ("No role", held(None)),
    ]
}

fn product_columns() -> Vec<(&'static str, Roles)> {
    let unrestricted = |role| Roles::on_product(OrgRole::None, Some(role), false, None);
    let restricted = |grant| Roles::on_product(OrgRole::Member, None, true, grant);
    vec![
        ("Admin", unrestricted(WorkspaceRole::Admin)),
        ("Editor", unrestricted(WorkspaceRole::Editor)),
        ("Viewer", unrestricted(WorkspaceRole::Viewer)),
        ("Restricted, Edit grant", restricted(Some(Grant::Edit))),
        ("Restricted, View grant", restricted(Some(Grant::View))),
        ("Restricted, no grant", restricted(None)),
    ]
}

pub(super) fn product_actions() -> Vec<(&'static str, Action)> {
    vec![
        ("See it", Action::OnProduct(ProductAction::View)),
        ("Edit it", Action::OnProduct(ProductAction::Edit)),
        ("Delete it", Action::OnProduct(ProductAction::Delete)),
        (
            "Choose who owns it",
            Action::OnProduct(ProductAction::AssignOwner),
        ),
    ]
}

/// The roles of the organization's columns, most powerful first.
const ORG_COLUMNS: [OrgRole; 5] = [
    OrgRole::Owner,
    OrgRole::Admin,
    OrgRole::Member,
    OrgRole::Viewer,
    OrgRole::None,
];

/// One scope's table, answered by the policy.
pub fn of(scope: Scope) -> Table {
    match scope {
        Scope::Organization => Table {
            scope,
            columns: ORG_COLUMNS.iter().map(|r| r.label()).collect(),
            rows: organization_actions()
                .into_iter()
                .map(|(action, for_role)| Row {
                    action,
                    allowed: ORG_COLUMNS
                        .iter()
                        .map(|role| authorize(Roles::in_org(*role), for_role(*role)).is_ok())
                        .collect(),
                })
                .collect(),
        },
        Scope::Workspace => fixed(scope, workspace_columns(), workspace_actions()),
        Scope::Product => fixed(scope, product_columns(), product_actions()),
    }
}

fn fixed(
    scope: Scope,
    columns: Vec<(&'static str, Roles)>,
    actions: Vec<(&'static str, Action)>,
) -> Table {
    Table {
        scope,
        columns: columns.iter().map(|(label, _)| *label).collect(),
        rows: actions
            .into_iter()
            .map(|(action, what)| Row {
                action,
                allowed: columns
                    .iter()
                    .map(|(_, roles)| authorize(*roles, what).is_ok())
                    .collect(),
            })
            .collect(),
    }
}

/// Every scope's table.
pub fn all() -> Vec<Table> {
    Scope::ALL.into_iter().map(of).collect()
}

/// The tables as Markdown, as `docs/PERMISSIONS.md` holds them.
pub fn markdown() -> String {
    let mut out = String::from(
        "# What each role can do\n\n\
         Generated from the policy (`src/domain/policy/`) by `roster permissions`; \
         a test fails when this file and the policy differ.\n",
    );
    for table in all() {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n",
            table.scope.title(),
            table.scope.intro()
        ));
        out.push_str(&format!("| Action | {} |\n", table.columns.join(" | ")));
        out.push_str(&format!("|---|{}\n", "---|".repeat(table.columns.len())));
        for row in &table.rows {
            let cells: Vec<&str> = row
                .allowed
                .iter()
                .map(|yes| if *yes { "yes" } else { "no" })
                .collect();
            out.push_str(&format!("| {} | {} |\n", row.action, cells.join(" | ")));
        }
    }
    out
}
