//! Accessibility audits with axe-core in the browser tests: every page a
//! person can reach is checked against WCAG 2.0/2.1/2.2 A and AA and axe's
//! best practices. axe-core comes from npm (`npm ci --prefix tests/a11y`);
//! without it the audit is skipped with the reason printed, unless
//! `ROSTER_REQUIRE_BROWSER=1` asks for every browser check.

use fantoccini::Client;

const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/a11y/node_modules/axe-core/axe.min.js"
);

const RULES: &str = r#"["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]"#;

/// The axe-core source, if installed.
pub fn axe_source() -> Option<String> {
    match std::fs::read_to_string(AXE) {
        Ok(source) => Some(source),
        Err(_) => {
            if std::env::var("ROSTER_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("ROSTER_REQUIRE_BROWSER=1 but {AXE} is missing: npm ci --prefix tests/a11y");
            }
            eprintln!(
                "skipping accessibility audit: {AXE} is missing (npm ci --prefix tests/a11y)"
            );
            None
        }
    }
}

/// Runs axe on the page the browser shows; returns one line per violation
/// with the elements it found, prefixed with `label`.
pub async fn audit(client: &Client, axe: &str, label: &str) -> Vec<String> {
    client
        .execute(&format!("{axe}\nreturn null;"), vec![])
        .await
        .expect("inject axe-core");
    let script = format!(
        r#"const done = arguments[arguments.length - 1];
        axe.run(document, {{ runOnly: {{ type: "tag", values: {RULES} }}, resultTypes: ["violations"] }})
          .then(r => done(JSON.stringify(r.violations.map(v => ({{
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary)
          }})))))
          .catch(e => done("axe failed: " + e));"#
    );
    let result = client
        .execute_async(&script, vec![])
        .await
        .expect("run axe-core");
    let text = result.as_str().expect("axe's answer").to_string();
    assert!(!text.starts_with("axe failed"), "{label}: {text}");
    let violations: Vec<serde_json::Value> = serde_json::from_str(&text).expect("axe JSON");
    violations
        .iter()
        .map(|v| {
            format!(
                "{label}: {} ({}) — {}\n    {}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                v["nodes"]
                    .as_array()
                    .map(|nodes| nodes
                        .iter()
                        .filter_map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join("\n    "))
                    .unwrap_or_default()
            )
        })
        .collect()
}
