//! Bulk actions on the Members page: tick people and invitations, review
//! what each of them loses, then apply. Each row is done or refused on its
//! own, each done row is audited on its own, and everything works with
//! plain HTML forms.

use reqwest::StatusCode;
use roster::domain::role::OrgRole;

use crate::helpers::{Browser, TestApp, Who, email, spawn_app};

/// A person in `org` with `name` and `role`; returns (membership id, email).
async fn person(app: &TestApp, org: &str, name: &str, role: OrgRole) -> (String, String) {
    let address = email(&name.to_lowercase().replace(' ', "."));
    let user = app.insert_user(&address, name).await;
    let membership = app.add_membership(org, &user, role).await;
    (membership, address)
}

/// The membership id of the organization's Owner.
async fn owner_membership(app: &TestApp, org: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM memberships WHERE org_id = '{org}' AND role = 'owner'"
    ))
    .await
}

/// The address an invitation was sent to.
async fn invitation_address(app: &TestApp, id: &str) -> String {
    app.scalar_text(&format!("SELECT email FROM invitations WHERE id = '{id}'"))
        .await
}

async fn invitation_state(app: &TestApp, id: &str) -> String {
    app.scalar_text(&format!("SELECT state FROM invitations WHERE id = '{id}'"))
        .await
}

async fn audited(app: &TestApp, org: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE org_id = '{org}' AND action = '{action}'"
    ))
    .await
}

/// Posts the bulk form (the CSRF token is added).
async fn bulk(browser: &Browser, org: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let response = browser
        .post_form(&format!("/orgs/{org}/members/bulk"), fields)
        .await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// An attribute of one HTML tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// The fields a browser sends when the form posting to `action` on `page`
/// (the one with the "Apply to" button, if several post there) is
/// submitted with its submit button: every named input and the named
/// button.
fn submitted_fields(page: &str, action: &str) -> Vec<(String, String)> {
    let marker = format!("action=\"{action}\"");
    let forms: Vec<&str> = page
        .match_indices(&marker)
        .map(|(at, _)| {
            let start = page[..at].rfind("<form").expect("the form's start tag");
            let end = page[at..].find("</form>").expect("the form's end tag") + at;
            &page[start..end]
        })
        .collect();
    let form = forms
        .iter()
        .find(|form| form.contains("Apply to"))
        .or(forms.first())
        .unwrap_or_else(|| panic!("a form posting to {action}"));
    let mut fields = Vec::new();
    for tag_name in ["<input", "<button", "<select"] {
        for chunk in form.split(tag_name).skip(1) {
            let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            let Some(name) = attribute(tag, "name") else {
                continue;
            };
            let kind = attribute(tag, "type").unwrap_or_default();
            if tag_name == "<input"
                && (kind == "checkbox" || kind == "radio")
                && !tag.contains(" checked")
            {
                continue;
            }
            let value = if tag_name == "<select" {
                let options = &chunk[..chunk.find("</select>").unwrap_or(chunk.len())];
                options
                    .split("<option")
                    .skip(1)
                    .find(|o| o[..o.find('>').unwrap_or(o.len())].contains(" selected"))
                    .and_then(|o| attribute(&o[..o.find('>').unwrap_or(o.len())], "value"))
                    .unwrap_or_default()
            } else {
                attribute(tag, "value").unwrap_or_default()
            };
            fields.push((name, value));
        }
    }
    fields
}

/// The `<main>` of a page (the header names the signed-in person).
fn main_of(page: &str) -> &str {
    let start = page.find("<main").unwrap_or(0);
    let end = page.find("</main>").unwrap_or(page.len());
    &page[start..end]
}

/// The table row (or list item) in the `<main>` of `page` that names `who`.
fn row_of<'a>(page: &'a str, who: &str) -> &'a str {
    let page = main_of(page);
    let at = page
        .find(who)
        .unwrap_or_else(|| panic!("a row naming {who} in:\n{page}"));
    let start = ["<tr", "<li"]
        .iter()
        .filter_map(|tag| page[..at].rfind(tag))
        .max()
        .unwrap_or_else(|| panic!("{who} is in a row"));
    let end = ["</tr>", "</li>"]
        .iter()
        .filter_map(|tag| page[at..].find(tag))
        .min()
        .map_or(page.len(), |end| at + end);
    &page[start..end]
}

/// The text a person reads in `html`: tags dropped, common entities
/// decoded, white space collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&rarr;", "→")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the row naming `who` (see [`row_of`]).
fn row_text(page: &str, who: &str) -> String {
    text_of(row_of(page, who))
}

/// The `<input>` tag of the checkbox `name`=`value` on the Members page.
fn checkbox<'a>(page: &'a str, name: &str, value: &str) -> Option<&'a str> {
    page.split("<input").skip(1).find_map(|chunk| {
        let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        (tag.contains(&format!("name=\"{name}\"")) && tag.contains(&format!("value=\"{value}\"")))
            .then_some(tag)
    })
}

/// "Admin → Member" as the page shows it (the arrow may be written as an
/// entity).
fn shows_change(page: &str, from: &str, to: &str) -> bool {
    ["→", "&rarr;", "&#8594;", "&#x2192;"]
        .iter()
        .any(|arrow| page.contains(&format!("{from} {arrow} {to}")))
}

#[tokio::test]
async fn the_members_page_offers_checkboxes_and_select_all_as_plain_forms() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (ada, _) = person(&app, &org, "Ada Admin", OrgRole::Admin).await;
    let (vera, _) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;
    let (invitation, _) = app.add_invitation(&org, OrgRole::Member).await;

    let (status, page) = owner.get_html(&format!("/orgs/{org}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let form_at = page
        .find(&format!("action=\"/orgs/{org}/members/bulk\""))
        .expect("the bulk form");
    let form_tag = &page[page[..form_at].rfind("<form").expect("a form")..];
    let form_tag = &form_tag[..form_tag.find('>').expect("the tag's end")];
    assert!(form_tag.contains("id=\"bulk\""), "{form_tag}");
    assert!(form_tag.contains("method=\"post\""), "{form_tag}");
    for value in ["role", "remove", "resend", "cancel"] {
        assert!(
            page.contains(&format!("<option value=\"{value}\"")),
            "the action {value} is offered"
        );
    }
    assert!(page.contains("name=\"action\""));
    assert!(page.contains("name=\"role\""));
    assert!(page.contains("Review selected"));
    for id in [&ada, &vera] {
        let tag = checkbox(&page, "member", id).expect("a checkbox for each member");
        assert!(tag.contains("form=\"bulk\""), "{tag}");
        assert!(
            !tag.contains("checked"),
            "nothing is ticked at first: {tag}"
        );
    }

    // Pending invitations are listed with their own checkboxes.
    let (status, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let tag = checkbox(&pending, "invitation", &invitation).expect("a checkbox for the invitation");
    assert!(tag.contains("form=\"bulk\""), "{tag}");

    // "Select all on this page" is a link: the rows come back ticked.
    assert!(page.contains("select=all"), "a link to select all");
    let (status, all) = owner
        .get_html(&format!("/orgs/{org}/members?select=all"))
        .await;
    assert_eq!(status, StatusCode::OK);
    for id in [&ada, &vera] {
        let tag = checkbox(&all, "member", id).expect("a checkbox for each member");
        assert!(tag.contains("checked"), "ticked by select all: {tag}");
    }
}

#[tokio::test]
async fn the_review_lists_each_person_and_what_they_lose_and_changes_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let owner_id = owner_membership(&app, &org).await;
    let (ada, ada_email) = person(&app, &org, "Ada Admin", OrgRole::Admin).await;
    let (vera, vera_email) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;
    let (invitation, token) = app.add_invitation(&org, OrgRole::Member).await;
    let invitee = invitation_address(&app, &invitation).await;

    let (status, review) = bulk(
        &owner,
        &org,
        &[
            ("action", "role"),
            ("role", "member"),
            ("member", &owner_id),
            ("member", &ada),
            ("member", &vera),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Olivia Owner", "Ada Admin", "Vera Viewer"] {
        assert!(review.contains(name), "{name} is listed");
    }
    assert!(
        shows_change(&row_text(&review, "Ada Admin"), "Admin", "Member"),
        "{review}"
    );
    assert!(
        shows_change(&row_text(&review, "Vera Viewer"), "Viewer", "Member"),
        "{review}"
    );
    assert!(review.contains("Apply to 3"), "{review}");
    // The review re-posts the same choice, confirmed.
    let mut fields = submitted_fields(&review, &format!("/orgs/{org}/members/bulk"));
    fields.retain(|(name, _)| {
        ["action", "role", "member", "invitation", "confirm"].contains(&name.as_str())
    });
    fields.sort();
    let mut expected: Vec<(String, String)> = [
        ("action", "role"),
        ("confirm", "yes"),
        ("member", owner_id.as_str()),
        ("member", ada.as_str()),
        ("member", vera.as_str()),
        ("role", "member"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    expected.sort();
    assert_eq!(fields, expected, "the confirming form");

    let (status, removal) = bulk(
        &owner,
        &org,
        &[("action", "remove"), ("member", &ada), ("member", &vera)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(row_text(&removal, "Ada Admin").contains("loses their membership"));
    assert!(row_text(&removal, "Vera Viewer").contains("loses their membership"));
    assert!(removal.contains("Apply to 2"));

    let (status, cancelling) = bulk(
        &owner,
        &org,
        &[("action", "cancel"), ("invitation", &invitation)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        row_text(&cancelling, &invitee)
            .to_lowercase()
            .contains("the link stops working")
    );
    assert!(cancelling.contains("Apply to 1"));

    // Reviewing changed nothing.
    assert_eq!(
        app.role_of(&org, &ada_email).await.as_deref(),
        Some("admin")
    );
    assert_eq!(
        app.role_of(&org, &vera_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(invitation_state(&app, &invitation).await, "pending");
    let (status, _) = app
        .new_browser()
        .get_html(&format!("/invitations/{token}"))
        .await;
    assert_eq!(status, StatusCode::OK, "the link still works");
    for action in [
        "member.role_changed",
        "member.removed",
        "invitation.revoked",
    ] {
        assert_eq!(audited(&app, &org, action).await, 0, "{action}");
    }
}

#[tokio::test]
async fn a_role_change_applies_to_each_member_but_the_owner_one_audit_row_each() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (owner, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let owner_id = owner_membership(&app, &org).await;
    let owner_user = app.user_id(&owner_email).await;
    let (ada, ada_email) = person(&app, &org, "Ada Admin", OrgRole::Admin).await;
    let (vera, vera_email) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;

    let (status, review) = bulk(
        &owner,
        &org,
        &[
            ("action", "role"),
            ("role", "member"),
            ("member", &owner_id),
            ("member", &ada),
            ("member", &vera),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Pressing "Apply to 3" sends the review's own form, as a browser
    // without JavaScript does.
    let fields = submitted_fields(&review, &format!("/orgs/{org}/members/bulk"));
    assert!(
        fields.iter().any(|(n, v)| n == "confirm" && v == "yes"),
        "{fields:?}"
    );
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let applied = owner
        .post_raw(&format!("/orgs/{org}/members/bulk"), &fields)
        .await;
    assert_eq!(applied.status(), StatusCode::OK);
    let result = applied.text().await.expect("body");

    let owner_row = row_text(&result, "Olivia Owner");
    assert!(owner_row.contains("Refused: "), "{owner_row}");
    assert!(!owner_row.contains("Done"), "{owner_row}");
    for name in ["Ada Admin", "Vera Viewer"] {
        let row = row_text(&result, name);
        assert!(row.contains("Done"), "{row}");
        assert!(!row.contains("Refused"), "{row}");
    }

    assert_eq!(
        app.role_of(&org, &owner_email).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        app.role_of(&org, &ada_email).await.as_deref(),
        Some("member")
    );
    assert_eq!(
        app.role_of(&org, &vera_email).await.as_deref(),
        Some("member")
    );
    assert_eq!(app.owners_of(&org).await, 1);
    assert_eq!(audited(&app, &org, "member.role_changed").await, 2);
    let about_owner = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'member.role_changed' \
             AND target_id = '{owner_user}'"
        ))
        .await;
    assert_eq!(about_owner, 0, "the refused row is not audited");
    app.assert_counts_match(&org).await;

    // The Members page shows the new roles.
    let (_, members) = owner.get_html(&format!("/orgs/{org}/members")).await;
    let ada_row = row_text(&members, "Ada Admin");
    assert!(ada_row.contains("Member"), "{ada_row}");
}

#[tokio::test]
async fn bulk_remove_takes_members_away_but_not_the_owner_or_yourself() {
    let app = spawn_app().await;
    let owner_email = email("olivia");
    let (_, org) = app.signed_up("Olivia Owner", &owner_email, "Acme").await;
    let owner_id = owner_membership(&app, &org).await;
    let (ada, ada_email) = person(&app, &org, "Ada Admin", OrgRole::Admin).await;
    app.confirm_email(&ada_email).await;
    let admin = app.new_browser();
    assert_eq!(
        admin
            .sign_in(&ada_email, crate::helpers::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (max, max_email) = person(&app, &org, "Max Member", OrgRole::Member).await;
    let (vera, vera_email) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;

    let (status, result) = bulk(
        &admin,
        &org,
        &[
            ("action", "remove"),
            ("confirm", "yes"),
            ("member", &owner_id),
            ("member", &ada),
            ("member", &max),
            ("member", &vera),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Olivia Owner", "Ada Admin"] {
        let row = row_text(&result, name);
        assert!(row.contains("Refused: "), "{row}");
    }
    for name in ["Max Member", "Vera Viewer"] {
        let row = row_text(&result, name);
        assert!(row.contains("Done"), "{row}");
    }
    assert_eq!(
        app.role_of(&org, &owner_email).await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        app.role_of(&org, &ada_email).await.as_deref(),
        Some("admin")
    );
    assert_eq!(app.role_of(&org, &max_email).await, None);
    assert_eq!(app.role_of(&org, &vera_email).await, None);
    assert_eq!(audited(&app, &org, "member.removed").await, 2);
    app.assert_counts_match(&org).await;

    // The removed are gone from the Members page.
    let (_, members) = admin.get_html(&format!("/orgs/{org}/members")).await;
    assert!(!main_of(&members).contains("Max Member"));
    assert!(!main_of(&members).contains("Vera Viewer"));
}

#[tokio::test]
async fn invitations_are_resent_and_cancelled_in_bulk() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (first, first_token) = app.add_invitation(&org, OrgRole::Member).await;
    let (second, second_token) = app.add_invitation(&org, OrgRole::Viewer).await;
    let first_email = invitation_address(&app, &first).await;
    let second_email = invitation_address(&app, &second).await;
    let mail_to = |address: String| {
        let app = &app;
        async move {
            app.scalar(&format!(
                "SELECT COUNT(*) FROM outbox WHERE LOWER(recipient) = '{}'",
                address.to_lowercase()
            ))
            .await
        }
    };

    let resend = [
        ("action", "resend"),
        ("confirm", "yes"),
        ("invitation", first.as_str()),
        ("invitation", second.as_str()),
    ];
    let (status, result) = bulk(&owner, &org, &resend).await;
    assert_eq!(status, StatusCode::OK);
    for address in [&first_email, &second_email] {
        let row = row_text(&result, address);
        assert!(row.contains("Done"), "{row}");
    }
    assert_eq!(mail_to(first_email.clone()).await, 1);
    assert_eq!(mail_to(second_email.clone()).await, 1);
    assert_eq!(audited(&app, &org, "invitation.resent").await, 2);
    // The old links stop working; the new ones work.
    for token in [&first_token, &second_token] {
        let (status, _) = app
            .new_browser()
            .get_html(&format!("/invitations/{token}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old link is dead");
    }
    let new_first = app.outbox_link(&first_email, "/invitations/").await;
    let new_second = app.outbox_link(&second_email, "/invitations/").await;
    for link in [&new_first, &new_second] {
        let (status, _) = app.new_browser().get_html(link).await;
        assert_eq!(status, StatusCode::OK, "{link}");
    }

    // At once again: each row is refused by the two-minute throttle.
    let (status, again) = bulk(&owner, &org, &resend).await;
    assert_eq!(status, StatusCode::OK);
    for address in [&first_email, &second_email] {
        let row = row_text(&again, address);
        assert!(row.contains("Refused: "), "{row}");
        assert!(!row.contains("Done"), "{row}");
    }
    assert_eq!(mail_to(first_email.clone()).await, 1, "nothing more sent");
    assert_eq!(mail_to(second_email.clone()).await, 1, "nothing more sent");
    assert_eq!(audited(&app, &org, "invitation.resent").await, 2);

    let (status, cancelled) = bulk(
        &owner,
        &org,
        &[
            ("action", "cancel"),
            ("confirm", "yes"),
            ("invitation", &first),
            ("invitation", &second),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for address in [&first_email, &second_email] {
        let row = row_text(&cancelled, address);
        assert!(row.contains("Done"), "{row}");
    }
    assert_eq!(invitation_state(&app, &first).await, "revoked");
    assert_eq!(invitation_state(&app, &second).await, "revoked");
    assert_eq!(audited(&app, &org, "invitation.revoked").await, 2);
    for link in [&new_first, &new_second] {
        let (status, page) = app.new_browser().get_html(link).await;
        assert_eq!(status, StatusCode::GONE, "{link}");
        assert!(page.contains("was cancelled"));
    }
    let (_, pending) = owner
        .get_html(&format!("/orgs/{org}/members?status=pending"))
        .await;
    assert!(!pending.contains(&first_email));
    assert!(!pending.contains(&second_email));
}

#[tokio::test]
async fn ids_from_another_organization_are_refused_and_nothing_changes_there() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (_, other) = app
        .signed_up("Oscar Outsider", &email("oscar"), "Elsewhere")
        .await;
    let (vera, vera_email) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;
    let (theirs, theirs_email) = person(&app, &other, "Tom Theirs", OrgRole::Member).await;
    let their_owner = owner_membership(&app, &other).await;
    let (their_invitation, their_token) = app.add_invitation(&other, OrgRole::Member).await;

    // Mixed with one of the organization's own: that one applies.
    let (status, result) = bulk(
        &owner,
        &org,
        &[
            ("action", "role"),
            ("role", "member"),
            ("confirm", "yes"),
            ("member", &theirs),
            ("member", &vera),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text_of(&result)
            .to_lowercase()
            .contains("refused: not found"),
        "{result}"
    );
    assert!(
        !main_of(&result).contains("Tom Theirs"),
        "nothing about them shows"
    );
    assert!(row_text(&result, "Vera Viewer").contains("Done"));
    assert_eq!(
        app.role_of(&org, &vera_email).await.as_deref(),
        Some("member")
    );

    for (action, fields) in [
        (
            "remove",
            vec![
                ("member", theirs.as_str()),
                ("member", their_owner.as_str()),
            ],
        ),
        ("role", vec![("member", their_owner.as_str())]),
        ("cancel", vec![("invitation", their_invitation.as_str())]),
        ("resend", vec![("invitation", their_invitation.as_str())]),
    ] {
        let mut all = vec![("action", action), ("role", "viewer"), ("confirm", "yes")];
        all.extend(fields);
        let (status, result) = bulk(&owner, &org, &all).await;
        assert_eq!(status, StatusCode::OK, "{action}");
        assert!(
            text_of(&result)
                .to_lowercase()
                .contains("refused: not found"),
            "{action}: {result}"
        );
    }

    // Nothing changed in the other organization.
    assert_eq!(
        app.role_of(&other, &theirs_email).await.as_deref(),
        Some("member")
    );
    assert_eq!(app.owners_of(&other).await, 1);
    assert_eq!(invitation_state(&app, &their_invitation).await, "pending");
    let (status, _) = app
        .new_browser()
        .get_html(&format!("/invitations/{their_token}"))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "their invitation's link still works"
    );
    let their_audit = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE org_id = '{other}' AND action IN \
             ('member.role_changed', 'member.removed', 'invitation.resent', 'invitation.revoked')"
        ))
        .await;
    assert_eq!(their_audit, 0);
    let their_mail = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE org_id = '{other}' AND kind <> 'verify_email'"
        ))
        .await;
    assert_eq!(their_mail, 0, "no invitation was resent");
    app.assert_counts_match(&other).await;
}

#[tokio::test]
async fn a_selection_a_known_action_and_at_most_a_hundred_rows_are_needed() {
    let app = spawn_app().await;
    let (owner, org) = app
        .signed_up("Olivia Owner", &email("olivia"), "Acme")
        .await;
    let (vera, vera_email) = person(&app, &org, "Vera Viewer", OrgRole::Viewer).await;

    for confirm in ["", "yes"] {
        let (status, page) = bulk(
            &owner,
            &org,
            &[("action", "role"), ("role", "member"), ("confirm", confirm)],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirm={confirm}"
        );
        assert!(page.contains("Select at least one"), "{page}");

        let (status, _) = bulk(
            &owner,
            &org,
            &[
                ("action", "promote-everyone"),
                ("role", "member"),
                ("confirm", confirm),
                ("member", &vera),
            ],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown action, confirm={confirm}"
        );
    }

    // 101 rows are too many, even when every one is real.
    let mut ids = vec![vera.clone()];
    for i in 0..100 {
        let (id, _) = person(&app, &org, &format!("Person {i:03}"), OrgRole::Viewer).await;
        ids.push(id);
    }
    let mut fields = vec![("action", "role"), ("role", "member"), ("confirm", "yes")];
    fields.extend(ids.iter().map(|id| ("member", id.as_str())));
    let (status, _) = bulk(&owner, &org, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(
        app.role_of(&org, &vera_email).await.as_deref(),
        Some("viewer")
    );
    let promoted = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}' AND role = 'member'"
        ))
        .await;
    assert_eq!(promoted, 0, "nothing changed");
    assert_eq!(audited(&app, &org, "member.role_changed").await, 0);

    // A hundred is fine.
    fields.pop();
    let (status, result) = bulk(&owner, &org, &fields).await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..99 {
        let row = row_text(&result, &format!("Person {i:03}"));
        assert!(row.contains("Done"), "{row}");
    }
    assert!(row_text(&result, "Vera Viewer").contains("Done"));
    assert_eq!(audited(&app, &org, "member.role_changed").await, 100);
    let promoted = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org}' AND role = 'member'"
        ))
        .await;
    assert_eq!(promoted, 100);
}

#[tokio::test]
async fn members_and_viewers_may_not_use_bulk_actions() {
    let app = spawn_app().await;
    let fixture = app.fixture().await;
    let org = &fixture.org_id;
    let (vera, vera_email) = person(&app, org, "Vera Viewer", OrgRole::Viewer).await;
    let (invitation, _) = app.add_invitation(org, OrgRole::Member).await;

    for who in [Who::Member, Who::Viewer] {
        for (action, name, id) in [
            ("role", "member", &vera),
            ("remove", "member", &vera),
            ("resend", "invitation", &invitation),
            ("cancel", "invitation", &invitation),
        ] {
            for confirm in ["", "yes"] {
                let (status, _) = bulk(
                    fixture.browser(who),
                    org,
                    &[
                        ("action", action),
                        ("role", "admin"),
                        ("confirm", confirm),
                        (name, id),
                    ],
                )
                .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{who:?} {action} confirm={confirm}"
                );
            }
        }
    }
    assert_eq!(
        app.role_of(org, &vera_email).await.as_deref(),
        Some("viewer")
    );
    assert_eq!(invitation_state(&app, &invitation).await, "pending");
    for action in [
        "member.role_changed",
        "member.removed",
        "invitation.resent",
        "invitation.revoked",
    ] {
        assert_eq!(audited(&app, org, action).await, 0, "{action}");
    }

    // An Admin may.
    let (status, result) = bulk(
        fixture.browser(Who::Admin),
        org,
        &[
            ("action", "role"),
            ("role", "member"),
            ("confirm", "yes"),
            ("member", &vera),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(row_text(&result, "Vera Viewer").contains("Done"));
    assert_eq!(
        app.role_of(org, &vera_email).await.as_deref(),
        Some("member")
    );
}
