//! Modules, levels, and what the roles a person holds add up to.
//!
//! A module is an area roles grant access to, at the level None, Read or
//! Write. Roster's own areas are the built-in modules below; an
//! organization adds its own ("Campaigns", "Billing") for the product
//! around Roster to ask about. Every role, built-in or custom, is a set of
//! module levels ([`Levels`]); what a person holds somewhere is the union
//! of the levels of every role held there or passed down from the
//! organization ([`Access`], with the reason for each level).
//!
//! Roster's own permissions follow from the levels of custom roles
//! ([`org_permissions`], [`workspace_permissions`]); the built-in roles keep
//! their own permission sets, which those of their levels match (a test
//! says so).

use std::collections::BTreeMap;

use sea_orm::entity::prelude::*;

use super::permission::{Permission, PermissionSet};
use super::role::OrgRole;
use super::workspace::{WorkspaceRole, WsPermission, WsPermissionSet};

/// How much of a module a role gives, least to most.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Level {
    #[default]
    #[sea_orm(string_value = "none")]
    None,
    #[sea_orm(string_value = "read")]
    Read,
    #[sea_orm(string_value = "write")]
    Write,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::None, Level::Read, Level::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Write => "write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Read => "Read",
            Level::Write => "Write",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Level::ALL.into_iter().find(|l| l.as_str() == value)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a custom role may be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RoleScope {
    #[sea_orm(string_value = "organization")]
    Organization,
    #[sea_orm(string_value = "workspace")]
    Workspace,
    #[sea_orm(string_value = "both")]
    Both,
}

impl RoleScope {
    pub const ALL: [RoleScope; 3] = [
        RoleScope::Organization,
        RoleScope::Workspace,
        RoleScope::Both,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoleScope::Organization => "organization",
            RoleScope::Workspace => "workspace",
            RoleScope::Both => "both",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RoleScope::Organization => "Organization-wide",
            RoleScope::Workspace => "In workspaces",
            RoleScope::Both => "Organization-wide or in workspaces",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        RoleScope::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether a role of this scope may be held organization-wide
    /// (`in_workspace` false) or in a workspace.
    pub fn allows(self, in_workspace: bool) -> bool {
        match self {
            RoleScope::Both => true,
            RoleScope::Organization => !in_workspace,
            RoleScope::Workspace => in_workspace,
        }
    }
}

/// One of Roster's own modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinModule {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const MEMBERS: &str = "members";
pub const INVITATIONS: &str = "invitations";
pub const WORKSPACES: &str = "workspaces";
pub const PRODUCTS: &str = "products";
pub const PRODUCT_ACCESS: &str = "product_access";
pub const AUDIT_LOG: &str = "audit_log";
pub const SETTINGS: &str = "settings";
pub const API_KEYS: &str = "api_keys";

/// Roster's own modules, in the order pages list them.
pub const BUILTIN: [BuiltinModule; 8] = [
    BuiltinModule {
        key: MEMBERS,
        name: "Members",
        description: "Read: see who belongs. Write: change roles and remove members.",
    },
    BuiltinModule {
        key: INVITATIONS,
        name: "Invitations",
        description: "Write: invite people, resend and cancel invitations.",
    },
    BuiltinModule {
        key: WORKSPACES,
        name: "Workspaces",
        description: "Read: see workspaces. Write: create them and edit their details.",
    },
    BuiltinModule {
        key: PRODUCTS,
        name: "Products",
        description: "Write: create and edit products (deleting one also needs Workspaces: Write).",
    },
    BuiltinModule {
        key: PRODUCT_ACCESS,
        name: "Product access",
        description: "Write: restrict members to chosen products.",
    },
    BuiltinModule {
        key: AUDIT_LOG,
        name: "Audit log",
        description: "Read: read and export the audit log.",
    },
    BuiltinModule {
        key: SETTINGS,
        name: "Settings",
        description: "Read: see the settings. Write: edit them and define roles (with Members: Write).",
    },
    BuiltinModule {
        key: API_KEYS,
        name: "API keys",
        description: "Read: make personal API keys. Write: manage the organization's keys.",
    },
];

pub fn is_builtin(key: &str) -> bool {
    BUILTIN.iter().any(|m| m.key == key)
}

/// A module key the host product asks by: 1 to 40 lowercase letters,
/// digits and underscores, starting with a letter, not a built-in's.
pub fn parse_custom_key(value: &str) -> Result<String, &'static str> {
    let key = value.trim();
    if key.is_empty() || key.len() > 40 {
        return Err("A module key has 1 to 40 characters.");
    }
    let mut chars = key.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_with_letter || !rest_ok {
        return Err(
            "A module key uses lowercase letters, digits and underscores, and starts with a letter.",
        );
    }
    if is_builtin(key) {
        return Err("That key is one of Roster's own modules.");
    }
    Ok(key.to_string())
}

/// The key a module's name suggests ("Campaign reports" → "campaign_reports").
pub fn key_from_name(name: &str) -> String {
    let mut key = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_');
    let key = key.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    key.chars().take(40).collect()
}

/// A set of module levels: explicit levels per module, and a floor for the
/// organization's own modules (Write for the roles that hold every module,
/// whichever exist).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    explicit: BTreeMap<String, Level>,
    custom_floor: Level,
}

impl Levels {
    pub fn new() -> Self {
        Levels::default()
    }

    /// Levels from (module, level) pairs; a module named twice keeps the
    /// higher.
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a str, Level)>) -> Self {
        let mut levels = Levels::new();
        for (module, level) in pairs {
            levels.raise(module, level);
        }
        levels
    }

    /// Every built-in module and every custom one at Write.
    fn everything() -> Self {
        let mut levels = Levels::of(BUILTIN.iter().map(|m| (m.key, Level::Write)));
        levels.custom_floor = Level::Write;
        levels
    }

    pub fn get(&self, module: &str) -> Level {
        let explicit = self.explicit.get(module).copied().unwrap_or(Level::None);
        if is_builtin(module) {
            explicit
        } else {
            explicit.max(self.custom_floor)
        }
    }

    /// The level every module of the organization's own has at least.
    pub fn custom_floor(&self) -> Level {
        self.custom_floor
    }

    /// Raises `module` to `level` (never lowers it).
    pub fn raise(&mut self, module: &str, level: Level) {
        if level == Level::None {
            return;
        }
        let entry = self.explicit.entry(module.to_string()).or_insert(level);
        *entry = (*entry).max(level);
    }

    /// Everything either holds.
    pub fn union(&self, other: &Levels) -> Levels {
        let mut out = self.clone();
        for (module, level) in &other.explicit {
            out.raise(module, *level);
        }
        out.custom_floor = out.custom_floor.max(other.custom_floor);
        out
    }

    /// The modules named explicitly, with their levels.
    pub fn explicit(&self) -> impl Iterator<Item = (&str, Level)> {
        self.explicit.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The first module where `self` gives more than `ceiling` holds, if
    /// any: what granting `self` under that ceiling would raise someone
    /// above it.
    pub fn exceeding(&self, ceiling: &Levels) -> Option<(String, Level)> {
        if self.custom_floor > ceiling.custom_floor {
            return Some((
                "(every module of the organization's own)".into(),
                self.custom_floor,
            ));
        }
        self.explicit
            .iter()
            .find(|(module, level)| **level > ceiling.get(module))
            .map(|(module, level)| (module.clone(), *level))
    }

    /// Whether `ceiling` holds at least everything `self` gives.
    pub fn within(&self, ceiling: &Levels) -> bool {
        self.exceeding(ceiling).is_none()
    }
}

/// The module levels of a built-in organization role.
pub fn org_role_levels(role: OrgRole) -> Levels {
    match role {
        OrgRole::Owner | OrgRole::Admin => Levels::everything(),
        OrgRole::Member => Levels::of([
            (MEMBERS, Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Write),
            (SETTINGS, Level::Read),
            (API_KEYS, Level::Read),
        ]),
        OrgRole::Viewer => Levels::of([
            (MEMBERS, Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Read),
            (SETTINGS, Level::Read),
        ]),
        OrgRole::None => Levels::new(),
    }
}

/// The module levels of a built-in workspace role, in its workspace.
pub fn workspace_role_levels(role: WorkspaceRole) -> Levels {
    match role {
        WorkspaceRole::Owner | WorkspaceRole::Admin => {
            let mut levels = Levels::of([
                (MEMBERS, Level::Write),
                (INVITATIONS, Level::Write),
                (WORKSPACES, Level::Write),
                (PRODUCTS, Level::Write),
            ]);
            levels.custom_floor = Level::Write;
            levels
        }
        WorkspaceRole::Editor => Levels::of([
            (MEMBERS, Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Write),
        ]),
        WorkspaceRole::Viewer => Levels::of([
            (MEMBERS, Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Read),
        ]),
    }
}

/// The module levels an organization permission needs; `None` for the
/// Owner's own (auto-join, transfer, deletion, the organization's modules),
/// which no module level gives.
pub fn needs(permission: Permission) -> Option<&'static [(&'static str, Level)]> {
    use Permission::*;
    Some(match permission {
        ViewMembers => &[(MEMBERS, Level::Read)],
        ViewSettings => &[(SETTINGS, Level::Read)],
        ViewWorkspaces => &[(WORKSPACES, Level::Read)],
        ManageMembers => &[(MEMBERS, Level::Write), (INVITATIONS, Level::Write)],
        EditSettings => &[(SETTINGS, Level::Write)],
        CreateWorkspaces => &[(WORKSPACES, Level::Write)],
        ManageProductAccess => &[(PRODUCT_ACCESS, Level::Write)],
        ReadAuditLog => &[(AUDIT_LOG, Level::Read)],
        EditProducts => &[(PRODUCTS, Level::Write)],
        DeleteProducts => &[(PRODUCTS, Level::Write), (WORKSPACES, Level::Write)],
        UsePersonalKeys => &[(API_KEYS, Level::Read)],
        ManageApiKeys => &[(API_KEYS, Level::Write)],
        ManageRoles => &[(MEMBERS, Level::Write), (SETTINGS, Level::Write)],
        ManageAutoJoin | TransferOwnership | DeleteOrganization | ManageModules => return None,
    })
}

fn satisfied(levels: &Levels, needs: &[(&str, Level)]) -> bool {
    needs
        .iter()
        .all(|(module, level)| levels.get(module) >= *level)
}

/// The organization permissions module levels give.
pub fn org_permissions(levels: &Levels) -> PermissionSet {
    Permission::ALL
        .into_iter()
        .filter(|p| needs(*p).is_some_and(|n| satisfied(levels, n)))
        .fold(PermissionSet::EMPTY, PermissionSet::with)
}

/// The module levels a workspace permission needs; `None` for owning the
/// workspace, which moves only by transfer.
pub fn workspace_needs(permission: WsPermission) -> Option<&'static [(&'static str, Level)]> {
    use WsPermission::*;
    Some(match permission {
        View => &[(WORKSPACES, Level::Read)],
        EditProducts => &[(WORKSPACES, Level::Read), (PRODUCTS, Level::Write)],
        DeleteProducts => &[(WORKSPACES, Level::Write), (PRODUCTS, Level::Write)],
        AssignProductOwners => &[
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Write),
            (MEMBERS, Level::Write),
        ],
        EditDetails => &[(WORKSPACES, Level::Write)],
        ManageMembers => &[(WORKSPACES, Level::Read), (MEMBERS, Level::Write)],
        OwnWorkspace => return None,
    })
}

/// The workspace permissions module levels give there.
pub fn workspace_permissions(levels: &Levels) -> WsPermissionSet {
    WsPermission::ALL
        .into_iter()
        .filter(|p| workspace_needs(*p).is_some_and(|n| satisfied(levels, n)))
        .fold(WsPermissionSet::EMPTY, WsPermissionSet::with)
}

/// One role a person holds somewhere, with what it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// How the page says where a level comes from: "inherited from
    /// Member", "from Editor (Berlin)", "from Campaign Manager (Berlin)".
    pub reason: String,
    pub levels: Levels,
    /// Whether this is a custom role (as opposed to a built-in one).
    pub custom: bool,
}

impl Source {
    /// The base organization role, with what it passes down into a
    /// workspace when `in_workspace`.
    pub fn base(role: OrgRole, in_workspace: bool) -> Self {
        let mut levels = org_role_levels(role);
        if in_workspace && let Some(inherited) = WorkspaceRole::inherited_from(role) {
            levels = levels.union(&workspace_role_levels(inherited));
        }
        Source {
            reason: format!("inherited from {}", role.label()),
            levels,
            custom: false,
        }
    }

    /// A direct built-in role in a workspace.
    pub fn direct(role: WorkspaceRole, workspace: &str) -> Self {
        Source {
            reason: format!("from {} ({workspace})", role.label()),
            levels: workspace_role_levels(role),
            custom: false,
        }
    }

    /// A custom role, held organization-wide (`workspace` empty) or in
    /// one workspace.
    pub fn custom(name: &str, workspace: Option<&str>, levels: Levels) -> Self {
        let reason = match workspace {
            Some(ws) => format!("from {name} ({ws})"),
            None => format!("from {name}"),
        };
        Source {
            reason,
            levels,
            custom: true,
        }
    }
}

/// What a person holds in one place, with the reasons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub sources: Vec<Source>,
}

/// One module's level for a person, and the roles it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleLevel {
    pub level: Level,
    /// The reasons of every role giving that level (empty for None).
    pub reasons: Vec<String>,
}

impl Access {
    pub fn new(sources: Vec<Source>) -> Self {
        Access { sources }
    }

    /// The union of everything held.
    pub fn levels(&self) -> Levels {
        self.sources
            .iter()
            .fold(Levels::new(), |all, s| all.union(&s.levels))
    }

    /// The union of the custom roles held: what they add to Roster's own
    /// permissions beyond the built-in roles'.
    pub fn custom_levels(&self) -> Levels {
        self.sources
            .iter()
            .filter(|s| s.custom)
            .fold(Levels::new(), |all, s| all.union(&s.levels))
    }

    /// One module's level and why.
    pub fn module(&self, module: &str) -> ModuleLevel {
        let level = self
            .sources
            .iter()
            .map(|s| s.levels.get(module))
            .max()
            .unwrap_or(Level::None);
        let reasons = if level == Level::None {
            Vec::new()
        } else {
            self.sources
                .iter()
                .filter(|s| s.levels.get(module) == level)
                .map(|s| s.reason.clone())
                .collect()
        };
        ModuleLevel { level, reasons }
    }
}

/// A role the templates offer: a name, a description, where it is held,
/// and its module levels (custom modules by key, created with the given
/// name when missing and the actor may add modules).
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub scope: RoleScope,
    pub levels: &'static [(&'static str, Level)],
    /// The organization's own modules it names: (key, name, description).
    pub modules: &'static [(&'static str, &'static str, &'static str)],
}

const REPORTS: (&str, &str, &str) = ("reports", "Reports", "Reports and dashboards.");
const CAMPAIGNS: (&str, &str, &str) = ("campaigns", "Campaigns", "Marketing campaigns.");
const ANALYTICS: (&str, &str, &str) = ("analytics", "Analytics", "Usage and traffic analytics.");
const BILLING: (&str, &str, &str) = ("billing", "Billing", "Invoices, payment methods and plans.");

pub const TEMPLATES: [Template; 4] = [
    Template {
        key: "reporting",
        name: "Reporting",
        description: "Reads reports and products in a workspace.",
        scope: RoleScope::Workspace,
        levels: &[
            ("reports", Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Read),
            (MEMBERS, Level::Read),
        ],
        modules: &[REPORTS],
    },
    Template {
        key: "campaign_manager",
        name: "Campaign Manager",
        description: "Runs campaigns and edits products in a workspace.",
        scope: RoleScope::Workspace,
        levels: &[
            ("campaigns", Level::Write),
            ("reports", Level::Read),
            (WORKSPACES, Level::Read),
            (PRODUCTS, Level::Write),
            (MEMBERS, Level::Read),
        ],
        modules: &[CAMPAIGNS, REPORTS],
    },
    Template {
        key: "analytics",
        name: "Analytics",
        description: "Reads analytics and reports, anywhere it is granted.",
        scope: RoleScope::Both,
        levels: &[
            ("analytics", Level::Read),
            ("reports", Level::Read),
            (WORKSPACES, Level::Read),
        ],
        modules: &[ANALYTICS, REPORTS],
    },
    Template {
        key: "billing_administrator",
        name: "Billing administrator",
        description: "Manages billing for the whole organization.",
        scope: RoleScope::Organization,
        levels: &[
            ("billing", Level::Write),
            (MEMBERS, Level::Read),
            (SETTINGS, Level::Read),
        ],
        modules: &[BILLING],
    },
];

pub fn template(key: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests;
