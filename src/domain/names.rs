//! Validated display names: a person's name, an organization's name, the
//! one-line labels of workspaces and products, and free-text descriptions.

const MAX_NAME_CHARS: usize = 100;

/// `ask` completes "Enter …"; `subject` starts the other messages.
fn clean(input: &str, ask: &str, subject: &str) -> Result<String, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err(format!("Enter {ask}."));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{subject} must be at most {MAX_NAME_CHARS} characters."
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{subject} cannot contain control characters."));
    }
    Ok(value.to_string())
}

/// What a short one-line label names; each kind has its longest length
/// and its word in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelKind {
    WorkspaceTitle,
    ProductName,
}

impl LabelKind {
    pub const fn max_chars(self) -> usize {
        match self {
            LabelKind::WorkspaceTitle => 80,
            LabelKind::ProductName => 120,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            LabelKind::WorkspaceTitle => "title",
            LabelKind::ProductName => "name",
        }
    }
}

/// A validated one-line label (a workspace's title, a product's name):
/// trimmed, not empty, no control characters, at most its kind's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    pub fn parse(input: &str, kind: LabelKind) -> Result<Self, String> {
        let value = input.trim();
        let noun = kind.noun();
        let max = kind.max_chars();
        if value.is_empty() {
            return Err(format!("Enter a {noun}."));
        }
        if value.chars().count() > max {
            return Err(format!("Use at most {max} characters."));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("The {noun} cannot contain control characters."));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked in.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A trimmed free-text description of at most `max` characters; line
/// breaks and tabs are kept, other control characters refused.
pub fn description(input: &str, max: usize) -> Result<String, String> {
    let value = input.trim();
    if value.chars().count() > max {
        return Err(format!("Use at most {max} characters for the description."));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("The description cannot contain control characters.".into());
    }
    Ok(value.to_string())
}

/// A person's name as shown to their colleagues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, String> {
        clean(input, "your name", "Name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, String> {
        clean(input, "an organization name", "Organization name").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse(" ").unwrap_err(), "Enter your name.");
        assert_eq!(
            OrgName::parse(&"x".repeat(101)).unwrap_err(),
            "Organization name must be at most 100 characters."
        );
        assert_eq!(
            OrgName::parse("Acme\u{7}").unwrap_err(),
            "Organization name cannot contain control characters."
        );
        assert_eq!(
            OrgName::parse("<b>Acme</b>").unwrap().as_str(),
            "<b>Acme</b>"
        );
    }

    #[test]
    fn labels_are_trimmed_and_bounded_by_their_kind() {
        for (kind, typed, kept, too_long) in [
            (LabelKind::ProductName, "  Atlas ", "Atlas", 121),
            (LabelKind::WorkspaceTitle, "  Store 12 ", "Store 12", 81),
        ] {
            assert_eq!(Label::parse(typed, kind).unwrap().as_str(), kept);
            assert!(Label::parse(" ", kind).is_err());
            assert!(Label::parse(&"x".repeat(too_long), kind).is_err());
            assert!(Label::parse(&"x".repeat(too_long - 1), kind).is_ok());
            assert!(Label::parse("a\u{7}b", kind).is_err());
            assert!(Label::parse("a\u{0}b", kind).is_err());
            assert_eq!(
                Label::parse(kept, kind).unwrap().normalized(),
                kept.to_lowercase()
            );
        }
    }
}
