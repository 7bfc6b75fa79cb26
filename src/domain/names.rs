//! Validated display names: a person's name and an organization's name,
//! and the shared rules for other short labels (workspace titles, product
//! names) and free-text descriptions.

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

/// A trimmed one-line label of at most `max` characters; `noun` ("title",
/// "name") goes into the messages.
pub fn label(input: &str, max: usize, noun: &str) -> Result<String, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err(format!("Enter a {noun}."));
    }
    if value.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("The {noun} cannot contain control characters."));
    }
    Ok(value.to_string())
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
}
