//! Accessibility and markup audits in the browser tests: every page a
//! person can reach is checked against WCAG 2.0/2.1/2.2 A and AA and axe's
//! best practices with axe-core, and its markup (as the browser holds it,
//! htmx swaps included) with the Nu HTML checker. Both come from npm
//! (`npm ci --prefix tests/a11y`); the checker also needs `java`. Without
//! them an audit is skipped with the reason printed, unless
//! `ROSTER_REQUIRE_BROWSER=1` asks for every browser check.

use fantoccini::Client;

const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/a11y/node_modules/axe-core/axe.min.js"
);

const RULES: &str = r#"["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]"#;

const VNU: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/a11y/node_modules/vnu-jar/build/dist/vnu.jar"
);

fn required() -> bool {
    std::env::var("ROSTER_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// The axe-core source, if installed.
pub fn axe_source() -> Option<String> {
    match std::fs::read_to_string(AXE) {
        Ok(source) => Some(source),
        Err(_) => {
            if required() {
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

/// Copies of the pages a browser test showed, for the Nu HTML checker.
pub struct Markup {
    dir: tempfile::TempDir,
    labels: Vec<String>,
}

impl Markup {
    /// A place to keep pages, if the checker can run (its jar and `java`).
    pub fn new() -> Option<Markup> {
        let java = std::process::Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|out| out.status.success());
        let jar = std::path::Path::new(VNU).exists();
        if !java || !jar {
            let missing = if jar {
                "java (apt-get install default-jre-headless)".to_string()
            } else {
                format!("{VNU} (npm ci --prefix tests/a11y)")
            };
            if required() {
                panic!("ROSTER_REQUIRE_BROWSER=1 but {missing} is missing");
            }
            eprintln!("skipping the Nu HTML checker: {missing} is missing");
            return None;
        }
        Some(Markup {
            dir: tempfile::tempdir().expect("a directory for page copies"),
            labels: Vec::new(),
        })
    }

    /// Keeps the page the browser shows, under `label`.
    pub async fn keep(&mut self, client: &Client, label: &str) {
        let html = client
            .execute(
                "return '<!DOCTYPE html>\\n' + document.documentElement.outerHTML;",
                vec![],
            )
            .await
            .expect("read the page's markup");
        let path = self
            .dir
            .path()
            .join(format!("{:03}.html", self.labels.len()));
        std::fs::write(&path, html.as_str().unwrap_or_default()).expect("keep the page");
        self.labels.push(label.to_string());
    }

    /// Runs the checker over every page kept; one line per error.
    pub fn errors(&self) -> Vec<String> {
        if self.labels.is_empty() {
            return Vec::new();
        }
        let files: Vec<_> = (0..self.labels.len())
            .map(|i| self.dir.path().join(format!("{i:03}.html")))
            .collect();
        let out = std::process::Command::new("java")
            .args(["-jar", VNU, "--errors-only", "--format", "json"])
            .args(&files)
            .output()
            .expect("run the Nu HTML checker");
        // The checker writes its report to stderr.
        let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
            panic!(
                "the Nu HTML checker's report: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let messages = report["messages"].as_array().cloned().unwrap_or_default();
        messages
            .iter()
            .filter(|m| m["type"] == "error" || m["type"] == "non-document-error")
            .map(|m| {
                let url = m["url"].as_str().unwrap_or_default();
                let label = url
                    .rsplit('/')
                    .next()
                    .and_then(|f| f.strip_suffix(".html"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|i| self.labels.get(i))
                    .map_or(url, String::as_str);
                format!(
                    "{label}: line {}: {}\n    {}",
                    m["lastLine"],
                    m["message"].as_str().unwrap_or_default(),
                    m["extract"].as_str().unwrap_or_default().replace('\n', " ")
                )
            })
            .collect()
    }
}
