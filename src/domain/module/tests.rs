use proptest::prelude::*;

use super::*;
use crate::domain::policy::{self, Roles};

#[test]
fn builtin_role_levels_give_exactly_the_builtin_permissions() {
    for role in [
        OrgRole::Owner,
        OrgRole::Admin,
        OrgRole::Member,
        OrgRole::Viewer,
        OrgRole::None,
    ] {
        let from_levels = org_permissions(&org_role_levels(role));
        for p in Permission::ALL {
            let modular = needs(p).is_some();
            if modular {
                assert_eq!(
                    from_levels.contains(p),
                    role.permissions().contains(p),
                    "{role:?} / {p:?}"
                );
            } else {
                assert!(!from_levels.contains(p), "{p:?} comes from no module level");
            }
        }
    }
    for role in WorkspaceRole::ALL {
        let from_levels = workspace_permissions(&workspace_role_levels(role));
        for p in WsPermission::ALL {
            if workspace_needs(p).is_some() {
                assert_eq!(
                    from_levels.contains(p),
                    role.permissions().contains(p),
                    "{role:?} / {p:?}"
                );
            }
        }
    }
}

#[test]
fn reasons_name_every_role_giving_the_highest_level() {
    let campaign = Levels::of([("campaigns", Level::Write), (PRODUCTS, Level::Write)]);
    let access = Access::new(vec![
        Source::base(OrgRole::Member, true),
        Source::custom("Campaign Manager", Some("Berlin"), campaign),
    ]);
    let products = access.module(PRODUCTS);
    assert_eq!(products.level, Level::Write);
    assert_eq!(
        products.reasons,
        vec![
            "inherited from Member".to_string(),
            "from Campaign Manager (Berlin)".to_string()
        ]
    );
    assert_eq!(
        access.module("campaigns").reasons,
        vec!["from Campaign Manager (Berlin)"]
    );
    assert_eq!(access.module(MEMBERS).level, Level::Read);
    assert_eq!(access.module(AUDIT_LOG).level, Level::None);
    assert!(access.module(AUDIT_LOG).reasons.is_empty());
}

#[test]
fn admins_hold_every_module_of_the_organization_s_own() {
    let admin = org_role_levels(OrgRole::Admin);
    assert_eq!(admin.get("billing"), Level::Write);
    assert_eq!(org_role_levels(OrgRole::Member).get("billing"), Level::None);
    let billing = Levels::of([("billing", Level::Write)]);
    assert!(billing.within(&admin));
    assert!(!billing.within(&org_role_levels(OrgRole::Member)));
}

#[test]
fn module_keys_are_checked() {
    assert_eq!(parse_custom_key("campaigns"), Ok("campaigns".into()));
    assert!(parse_custom_key("Campaigns").is_err());
    assert!(parse_custom_key("1st").is_err());
    assert!(parse_custom_key("members").is_err());
    assert!(parse_custom_key("").is_err());
    assert_eq!(key_from_name("Campaign reports!"), "campaign_reports");
    assert_eq!(key_from_name("  2024 Billing"), "billing");
}

const MODULES: [&str; 6] = [
    MEMBERS,
    INVITATIONS,
    PRODUCTS,
    AUDIT_LOG,
    "campaigns",
    "billing",
];

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![Just(Level::None), Just(Level::Read), Just(Level::Write)]
}

fn levels() -> impl Strategy<Value = Levels> {
    proptest::collection::vec(level(), MODULES.len())
        .prop_map(|ls| Levels::of(MODULES.iter().copied().zip(ls)))
}

fn base_role() -> impl Strategy<Value = OrgRole> {
    prop_oneof![
        Just(OrgRole::Admin),
        Just(OrgRole::Member),
        Just(OrgRole::Viewer),
        Just(OrgRole::None)
    ]
}

/// An operation the actor attempts: grant role `role` to person
/// `person`, or redefine role `role` as `levels`.
#[derive(Clone, Debug)]
enum Op {
    Grant { person: usize, role: usize },
    Revoke { person: usize, role: usize },
    Redefine { role: usize, levels: Levels },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize, 0..3usize).prop_map(|(person, role)| Op::Grant { person, role }),
        (0..4usize, 0..3usize).prop_map(|(person, role)| Op::Revoke { person, role }),
        (0..3usize, levels()).prop_map(|(role, levels)| Op::Redefine { role, levels }),
    ]
}

/// Everyone's organization-wide levels: their base role and the custom
/// roles they hold.
fn levels_of(base: OrgRole, held: &[bool], roles: &[Levels]) -> Levels {
    held.iter()
        .zip(roles)
        .filter(|(h, _)| **h)
        .fold(org_role_levels(base), |all, (_, l)| all.union(l))
}

fn custom_of(held: &[bool], roles: &[Levels]) -> Levels {
    held.iter()
        .zip(roles)
        .filter(|(h, _)| **h)
        .fold(Levels::new(), |all, (_, l)| all.union(l))
}

proptest! {
    /// What a person holds is exactly the union of their roles: no module
    /// level comes from anywhere else, and Roster's own permissions follow.
    #[test]
    fn access_is_the_union_of_what_is_held(
        base in base_role(),
        held in proptest::collection::vec(levels(), 0..4),
    ) {
        let mut sources = vec![Source::base(base, false)];
        sources.extend(held.iter().enumerate().map(|(i, l)| Source::custom(&format!("R{i}"), None, l.clone())));
        let access = Access::new(sources);
        for module in MODULES {
            let expected = held.iter().map(|l| l.get(module)).chain([org_role_levels(base).get(module)]).max().unwrap_or(Level::None);
            prop_assert_eq!(access.module(module).level, expected);
        }
        let custom = access.custom_levels();
        let roles = Roles::in_org(base).with_custom(&custom, &custom);
        let union = access.levels();
        for p in Permission::ALL {
            if roles.permissions().contains(p) && !base.permissions().contains(p) {
                prop_assert!(needs(p).is_some_and(|n| n.iter().all(|(m, l)| union.get(m) >= *l)), "{:?}", p);
            }
        }
    }

    /// No sequence of grants, revocations and role edits by one actor
    /// lets anyone, the actor included, gain a level beyond what they
    /// held before or the actor held before.
    #[test]
    fn the_ceiling_holds_through_any_sequence(
        bases in proptest::collection::vec(base_role(), 4),
        initial_roles in proptest::collection::vec(levels(), 3),
        initial_held in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 3), 4),
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        // Person 0 is the actor.
        let mut roles = initial_roles.clone();
        let mut held = initial_held.clone();
        let before: Vec<Levels> = (0..4).map(|p| levels_of(bases[p], &held[p], &roles)).collect();
        for op in ops {
            let mine = levels_of(bases[0], &held[0], &roles);
            let custom = custom_of(&held[0], &roles);
            let actor = Roles::in_org(bases[0]).with_custom(&custom, &custom);
            match op {
                Op::Grant { person, role } | Op::Revoke { person, role } => {
                    if policy::authorize_custom_grant(actor, false, &mine, &roles[role]).is_ok() {
                        held[person][role] = matches!(op, Op::Grant { .. });
                    }
                }
                Op::Redefine { role, levels } => {
                    let allowed = policy::authorize_custom_definition(actor, &mine, &roles[role]).is_ok()
                        && policy::authorize_custom_definition(actor, &mine, &levels).is_ok();
                    if allowed {
                        roles[role] = levels;
                    }
                }
            }
            for p in 0..4 {
                let now = levels_of(bases[p], &held[p], &roles);
                let ceiling = before[p].union(&before[0]);
                prop_assert!(now.within(&ceiling), "person {} rose to {:?} beyond {:?}", p, now, ceiling);
            }
        }
    }
}
