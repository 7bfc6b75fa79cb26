//! The API reference page at `/api`: the OpenAPI document, rendered by
//! Roster itself in its own layout (no script, no CDN).

use actix_web::HttpResponse;
use askama::Template;
use serde_json::Value;

use crate::web::errors::AppError;
use crate::web::render::{Layout, page};

pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub description: String,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub tag: String,
    pub params: Vec<Param>,
    pub body: String,
    pub responses: Vec<(String, String, String)>,
}

pub struct Field {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// For an enumeration, its values.
    pub values: String,
}

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    layout: Layout,
    title: String,
    description: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `#/components/schemas/Member` → `Member`.
fn ref_name(value: &Value) -> Option<String> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string)
}

/// A schema's type in a few words: `string`, `Member`, `array of Member`,
/// `string or null`.
fn kind(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name;
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
            return options.iter().map(kind).collect::<Vec<_>>().join(" or ");
        }
    }
    let base = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_string(),
    };
    match schema.get("items") {
        Some(items) if base.starts_with("array") => {
            base.replacen("array", &format!("array of {}", kind(items)), 1)
        }
        _ => base,
    }
}

fn body_of(content_holder: &Value) -> String {
    content_holder
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.values().next())
        .and_then(|m| m.get("schema"))
        .map(kind)
        .unwrap_or_default()
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut list = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return list;
    };
    for (path, item) in paths {
        let Some(methods) = item.as_object() else {
            continue;
        };
        for (method, op) in methods {
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(p, "name"),
                            location: text(p, "in"),
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| {
                    rs.iter()
                        .map(|(status, r)| (status.clone(), text(r, "description"), body_of(r)))
                        .collect()
                })
                .unwrap_or_default();
            let tag = op
                .get("tags")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            list.push(Operation {
                anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
                method: method.to_uppercase(),
                path: format!("/api/v1{path}"),
                summary: text(op, "summary"),
                tag,
                params,
                body: op.get("requestBody").map(body_of).unwrap_or_default(),
                responses,
            });
        }
    }
    list.sort_by(|a, b| a.tag.cmp(&b.tag).then_with(|| a.path.cmp(&b.path)));
    list
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(field, s)| Field {
                            name: field.clone(),
                            kind: kind(s),
                            required: required.contains(&field.as_str()),
                            description: text(s, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let values = schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: text(schema, "description"),
                fields,
                values,
            }
        })
        .collect()
}

pub async fn show() -> Result<HttpResponse, AppError> {
    let doc: Value = serde_json::from_str(super::document_json()).map_err(|err| {
        AppError::Unexpected(anyhow::Error::new(err).context("the OpenAPI document"))
    })?;
    page(&ReferencePage {
        layout: Layout::bare("API reference"),
        title: text(doc.get("info").unwrap_or(&Value::Null), "title"),
        description: text(doc.get("info").unwrap_or(&Value::Null), "description"),
        operations: operations(&doc),
        schemas: schemas(&doc),
    })
}
