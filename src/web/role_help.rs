//! "What each role can do": the policy's own table, as a disclosure beside
//! the role selects (a `<details>`, readable without JavaScript).

use std::sync::LazyLock;

use crate::domain::policy::table::{self, Scope};

/// The rules do not change while Roster runs: each table is rendered once.
static ORGANIZATION: LazyLock<String> = LazyLock::new(|| disclosure(Scope::Organization));
static WORKSPACE: LazyLock<String> = LazyLock::new(|| disclosure(Scope::Workspace));

/// The organization roles' table.
pub fn organization() -> &'static str {
    &ORGANIZATION
}

/// The workspace roles' table.
pub fn workspace() -> &'static str {
    &WORKSPACE
}

fn disclosure(scope: Scope) -> String {
    let table = table::of(scope);
    let mut out = String::with_capacity(4096);
    out.push_str("<details class=\"role-help\"><summary>What each role can do</summary>");
    out.push_str(&format!("<p class=\"hint\">{}</p>", escape(scope.intro())));
    out.push_str("<div class=\"table-wrap\"><table class=\"table role-table\"><caption>");
    out.push_str(&escape(scope.title()));
    out.push_str("</caption><thead><tr><th scope=\"col\">Action</th>");
    for column in &table.columns {
        out.push_str(&format!("<th scope=\"col\">{}</th>", escape(column)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &table.rows {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>",
            escape(row.action)
        ));
        for yes in &row.allowed {
            out.push_str(if *yes {
                "<td>Yes</td>"
            } else {
                "<td class=\"muted\">No</td>"
            });
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></details>");
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_disclosure_shows_the_policy_s_answers() {
        let html = super::organization();
        assert!(html.starts_with("<details class=\"role-help\"><summary>What each role can do"));
        assert!(html.contains("<th scope=\"row\">Make another member the Owner</th><td>Yes</td><td class=\"muted\">No</td>"));
        assert!(html.contains("organization&#39;s settings"));
        assert!(super::workspace().contains("<th scope=\"col\">Editor</th>"));
    }
}
