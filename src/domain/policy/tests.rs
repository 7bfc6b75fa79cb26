use super::table::{self, Scope};
use super::*;
use OrgRole::*;

fn org(role: OrgRole) -> Roles {
    Roles::in_org(role)
}

/// A scope, its columns, and each action with one `Y` or `.` per column.
type ScopeTable = (
    Scope,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Every role × every action × every scope: each cell of the policy's
/// table, written out by hand from the rules in DESIGN.md. `Y` allows,
/// `.` refuses; the columns are the table's.
#[test]
fn every_role_and_action_in_every_scope() {
    let expected: [ScopeTable; 3] = [
        (
            Scope::Organization,
            &["Owner", "Admin", "Member", "Viewer", "Workspace guest"],
            &[
                ("See the member list", "YYYY."),
                ("See the organization's settings", "YYYY."),
                ("See the workspace list", "YYYY."),
                ("Manage members and invitations", "YY..."),
                ("Edit the organization's settings", "YY..."),
                ("Set auto-join domains", "Y...."),
                ("Create workspaces", "YY..."),
                ("Restrict members to products", "YY..."),
                ("Read and export the audit log", "YY..."),
                ("Create and edit products", "YYY.."),
                ("Delete products", "YY..."),
                ("Transfer ownership", "Y...."),
                ("Delete the organization", "Y...."),
                ("Create personal API keys", "YYY.."),
                ("Manage the organization's API keys", "YY..."),
                ("Define custom roles", "YY..."),
                ("Add the organization's own modules", "Y...."),
                ("Invite a Viewer or a Member", "YY..."),
                ("Invite an Admin", "YY..."),
                ("Invite a workspace guest", "YY..."),
                ("Invite an Owner (ownership is only transferred)", "....."),
                ("Change a Member's role to Viewer", "YY..."),
                ("Make a Member an Admin", "YY..."),
                ("Change an Admin's role", "YY..."),
                ("Change the Owner's role", "....."),
                ("Lower their own role to Viewer", ".Y..."),
                ("Remove a Viewer or a Member", "YY..."),
                ("Remove an Admin", "YY..."),
                ("Remove the Owner", "....."),
                ("Leave the organization", ".YYYY"),
                ("Make an organization API key with the Admin role", "YY..."),
                ("Make another member the Owner", "Y...."),
            ],
        ),
        (
            Scope::Workspace,
            &["Owner", "Admin", "Editor", "Viewer", "No role"],
            &[
                ("See the workspace and who has access", "YYYY."),
                ("Create and edit its products", "YYY.."),
                ("Delete its products", "YY..."),
                ("Choose who owns a product", "YY..."),
                ("Rename it, change its description", "YY..."),
                ("Manage its direct roles", "YY..."),
                ("Transfer its ownership, delete it", "Y...."),
                ("Give a direct Viewer or Editor role", "YY..."),
                ("Give a direct Admin role", "YY..."),
                ("Change or take away a direct Admin role", "YY..."),
                (
                    "Give or take away the Owner role (it is only transferred)",
                    ".....",
                ),
                ("Invite someone into it as an Editor", "YY..."),
                ("Invite someone into it as an Admin", "YY..."),
                (
                    "Move it to an organization where they are an Admin or the Owner",
                    "Y....",
                ),
                (
                    "Move it to an organization where they are a Member",
                    ".....",
                ),
            ],
        ),
        (
            Scope::Product,
            &[
                "Admin",
                "Editor",
                "Viewer",
                "Restricted, Edit grant",
                "Restricted, View grant",
                "Restricted, no grant",
            ],
            &[
                ("See it", "YYYYY."),
                ("Edit it", "YY.Y.."),
                ("Delete it", "Y....."),
                ("Choose who owns it", "Y....."),
            ],
        ),
    ];
    for (scope, columns, rows) in expected {
        let table = table::of(scope);
        assert_eq!(table.columns, columns, "{scope:?} columns");
        let got: Vec<(&str, String)> = table
            .rows
            .iter()
            .map(|row| {
                let cells = row
                    .allowed
                    .iter()
                    .map(|yes| if *yes { 'Y' } else { '.' })
                    .collect();
                (row.action, cells)
            })
            .collect();
        let want: Vec<(&str, String)> = rows.iter().map(|(a, c)| (*a, c.to_string())).collect();
        assert_eq!(got, want, "{scope:?}");
    }
}

/// The tables name every kind of action the policy knows: a new kind of
/// action fails to compile here until it has a row.
#[test]
fn the_tables_cover_every_kind_of_action() {
    fn kind(action: Action) -> usize {
        match action {
            Action::Use(_) => 0,
            Action::ChangeRole { .. } => 1,
            Action::Remove { .. } => 2,
            Action::Leave => 3,
            Action::Invite { .. } => 4,
            Action::TransferOwnership { .. } => 5,
            Action::InWorkspace(_) => 6,
            Action::SetWorkspaceRole { .. } => 7,
            Action::InviteToWorkspace { .. } => 8,
            Action::MoveWorkspace { .. } => 9,
            Action::OnProduct(_) => 10,
            Action::CreateApiKey { .. } => 11,
        }
    }
    let mut seen = [false; 12];
    for (_, action) in table::organization_actions() {
        seen[kind(action(Owner))] = true;
    }
    for (_, action) in table::workspace_actions()
        .into_iter()
        .chain(table::product_actions())
    {
        seen[kind(action)] = true;
    }
    assert!(seen.iter().all(|s| *s), "{seen:?}");
    let permissions: Vec<Permission> = table::organization_actions()
        .into_iter()
        .filter_map(|(_, action)| match action(Owner) {
            Action::Use(p) => Some(p),
            _ => Option::None,
        })
        .collect();
    assert_eq!(permissions, Permission::ALL, "one row per permission");
    let ws: Vec<WsPermission> = table::workspace_actions()
        .into_iter()
        .filter_map(|(_, action)| match action {
            Action::InWorkspace(p) => Some(p),
            _ => Option::None,
        })
        .collect();
    assert_eq!(ws, WsPermission::ALL, "one row per workspace permission");
}

#[test]
fn role_changes_follow_the_ceiling() {
    use Denied::*;
    let missing = MissingPermission(Permission::ManageMembers);
    // (actor, from, to, is_self, expected)
    let cases = [
        (Owner, Admin, Member, false, Ok(())),
        (Owner, Member, Admin, false, Ok(())),
        (Owner, Viewer, Owner, false, Err(OwnerOnlyByTransfer)),
        (Owner, Owner, Admin, true, Err(OwnerProtected)),
        (Admin, Member, Admin, false, Ok(())),
        (Admin, Admin, Viewer, false, Ok(())),
        (Admin, Admin, Member, true, Ok(())),
        (Admin, Owner, Member, false, Err(OwnerProtected)),
        (Admin, Member, Owner, false, Err(OwnerOnlyByTransfer)),
        (Admin, Member, None, false, Err(AboveOwnRole)),
        (Member, Viewer, Member, false, Err(missing)),
        (Member, Member, Viewer, true, Err(missing)),
        (None, Viewer, Viewer, false, Err(missing)),
    ];
    for (actor, from, to, is_self, expected) in cases {
        assert_eq!(
            authorize(org(actor), Action::ChangeRole { from, to, is_self }),
            expected,
            "{actor:?} changes {from:?} to {to:?} (self: {is_self})"
        );
    }
}

#[test]
fn removal_leaving_and_transfer() {
    let remove = |actor, target, is_self| authorize(org(actor), Action::Remove { target, is_self });
    assert_eq!(remove(Admin, Admin, false), Ok(()));
    assert_eq!(remove(Admin, Owner, false), Err(Denied::OwnerProtected));
    assert_eq!(
        remove(Member, Viewer, false),
        Err(Denied::MissingPermission(Permission::ManageMembers))
    );
    assert_eq!(remove(Member, Member, true), Ok(()), "leaving");
    assert_eq!(remove(Owner, Owner, true), Err(Denied::OwnerProtected));
    assert_eq!(authorize(org(None), Action::Leave), Ok(()));
    let transfer = |actor, target, is_self| {
        authorize(org(actor), Action::TransferOwnership { target, is_self })
    };
    assert_eq!(transfer(Owner, Viewer, false), Ok(()));
    assert_eq!(
        transfer(Owner, Owner, true),
        Err(Denied::InvalidTransferTarget)
    );
    assert_eq!(
        transfer(Owner, None, false),
        Err(Denied::InvalidTransferTarget),
        "a workspace guest cannot become the Owner"
    );
    assert_eq!(
        transfer(Admin, Member, false),
        Err(Denied::MissingPermission(Permission::TransferOwnership))
    );
}

#[test]
fn grantable_roles_stop_at_own_role() {
    assert_eq!(grantable_roles(Owner), vec![Admin, Member, Viewer]);
    assert_eq!(grantable_roles(Admin), vec![Admin, Member, Viewer]);
    assert!(grantable_roles(Member).is_empty());
    assert!(grantable_roles(Viewer).is_empty());
}

#[test]
fn member_capabilities_are_the_policy_s_answers() {
    let caps = MemberCaps::of(Admin, Member, false);
    assert_eq!(caps.roles, [Admin, Member, Viewer]);
    assert!(caps.change_role() && caps.remove());
    let owner_row = MemberCaps::of(Admin, Owner, false);
    assert_eq!(owner_row.change_refused, Some(Denied::OwnerProtected));
    assert_eq!(owner_row.remove_refused, Some(Denied::OwnerProtected));
    let own_row = MemberCaps::of(Admin, Admin, true);
    assert!(own_row.change_role(), "an Admin may lower their own role");
    assert_eq!(own_row.remove_refused, Some(Denied::RemoveSelf));
    let member = MemberCaps::of(Member, Viewer, false);
    assert!(member.roles.is_empty());
    assert_eq!(
        member.change_refused,
        Some(Denied::MissingPermission(Permission::ManageMembers))
    );
    assert!(!member.remove());
}

#[test]
fn workspace_roles_follow_the_ceiling() {
    use WorkspaceRole as W;
    let set =
        |actor: Roles, current, to| authorize(actor, Action::SetWorkspaceRole { current, to });
    let ws_admin = Roles::in_workspace(None, Some(W::Admin));
    assert_eq!(
        grantable_workspace_roles(ws_admin),
        [W::Viewer, W::Editor, W::Admin]
    );
    let over_admin = DirectRoleCaps::of(ws_admin, Some(W::Admin));
    assert!(over_admin.revoke);
    assert_eq!(over_admin.roles, [W::Viewer, W::Editor, W::Admin]);
    assert_eq!(
        DirectRoleCaps::of(ws_admin, Some(W::Owner)),
        DirectRoleCaps::default(),
        "the Owner's role is left alone"
    );
    assert_eq!(
        set(ws_admin, Some(W::Owner), Option::None),
        Err(Denied::OwnerOnlyByTransfer),
        "ownership moves by transfer"
    );
    let editor = Roles::in_workspace(Member, Option::None);
    assert!(grantable_workspace_roles(editor).is_empty());
    assert_eq!(
        set(editor, Option::None, Some(W::Viewer)),
        Err(Denied::MissingWorkspacePermission)
    );
    let org_owner = Roles::in_workspace(Owner, Option::None);
    assert_eq!(
        grantable_workspace_roles(org_owner),
        [W::Viewer, W::Editor, W::Admin]
    );
    assert!(WorkspaceCaps::of(org_owner).own);
    let guest = Roles::in_workspace(None, Option::None);
    assert_eq!(
        authorize(guest, Action::InWorkspace(WsPermission::View)),
        Err(Denied::Invisible),
        "a workspace one has no access to stays unseen"
    );
    assert!(Denied::Invisible.is_invisible());
}

#[test]
fn moving_needs_ownership_here_and_admin_there() {
    let ws_owner = Roles::in_workspace(None, Some(WorkspaceRole::Owner));
    let org_admin = Roles::in_workspace(Admin, Option::None);
    let to = |destination| Action::MoveWorkspace { destination };
    assert_eq!(authorize(ws_owner, to(Some(Owner))), Ok(()));
    assert_eq!(
        authorize(ws_owner, to(Some(Viewer))),
        Err(Denied::NotAdminOfDestination)
    );
    assert_eq!(
        authorize(ws_owner, to(Option::None)),
        Err(Denied::NotAdminOfDestination)
    );
    assert_eq!(
        authorize(org_admin, to(Some(Admin))),
        Err(Denied::MissingWorkspacePermission),
        "an organization Admin does not own the workspace"
    );
}

/// (org role, direct workspace role, restricted flag, grant) → rights.
type ProductCase = (
    OrgRole,
    Option<WorkspaceRole>,
    bool,
    Option<Grant>,
    ProductCaps,
);

#[test]
fn product_rights_by_role_restriction_and_grant() {
    const NONE: ProductCaps = ProductCaps {
        view: false,
        edit: false,
        delete: false,
        assign_owner: false,
    };
    const VIEW: ProductCaps = ProductCaps { view: true, ..NONE };
    const EDIT: ProductCaps = ProductCaps { edit: true, ..VIEW };
    const ALL: ProductCaps = ProductCaps {
        view: true,
        edit: true,
        delete: true,
        assign_owner: true,
    };
    let cases: &[ProductCase] = &[
        (Owner, Option::None, false, Option::None, ALL),
        (Owner, Option::None, true, Option::None, ALL),
        (Admin, Option::None, true, Option::None, ALL),
        (Member, Option::None, false, Option::None, EDIT),
        (Member, Option::None, true, Option::None, NONE),
        (Member, Option::None, true, Some(Grant::View), VIEW),
        (Member, Option::None, true, Some(Grant::Edit), EDIT),
        (Viewer, Option::None, false, Option::None, VIEW),
        (Viewer, Option::None, true, Option::None, NONE),
        // A grant never adds to what the role allows.
        (Viewer, Option::None, true, Some(Grant::Edit), VIEW),
        (None, Option::None, false, Option::None, NONE),
        (None, Option::None, true, Some(Grant::Edit), NONE),
        (None, Some(WorkspaceRole::Editor), false, Option::None, EDIT),
        (
            None,
            Some(WorkspaceRole::Editor),
            true,
            Some(Grant::View),
            VIEW,
        ),
        (Member, Some(WorkspaceRole::Admin), false, Option::None, ALL),
        (
            Member,
            Some(WorkspaceRole::Admin),
            true,
            Some(Grant::Edit),
            ALL,
        ),
    ];
    for (org_role, direct, flag, grant, want) in cases {
        let roles = Roles::on_product(*org_role, *direct, *flag, *grant);
        assert_eq!(
            ProductCaps::of(roles),
            *want,
            "{org_role:?} + {direct:?}, restricted {flag}, grant {grant:?}"
        );
    }
    // Each refusal says why, in the words the product's page shows.
    let viewer = Roles::on_product(Viewer, Option::None, false, Option::None);
    let editor = Roles::on_product(Member, Option::None, false, Option::None);
    let on = |what| Action::OnProduct(what);
    assert_eq!(
        authorize(viewer, on(ProductAction::Edit)),
        Err(Denied::ProductReadOnly)
    );
    assert_eq!(
        authorize(editor, on(ProductAction::Delete)),
        Err(Denied::MayNotDeleteProduct)
    );
    assert_eq!(
        authorize(editor, on(ProductAction::AssignOwner)),
        Err(Denied::MayNotChooseProductOwner)
    );
    let unseen = Roles::on_product(Member, Option::None, true, Option::None);
    assert_eq!(
        authorize(unseen, Action::OnProduct(ProductAction::Edit)),
        Err(Denied::Invisible),
        "an ungranted product stays unseen"
    );
}

/// `docs/PERMISSIONS.md` is the policy's table: regenerate it with
/// `cargo run -- permissions > docs/PERMISSIONS.md` when the rules change.
#[test]
fn the_permissions_document_is_the_policy_s_table() {
    let written = include_str!("../../../docs/PERMISSIONS.md");
    assert!(
        written == table::markdown(),
        "docs/PERMISSIONS.md differs from the policy; run \
         `cargo run -- permissions > docs/PERMISSIONS.md`"
    );
}
