//! The OpenAPI document is good enough to generate a client and read on its own: every
//! operation is named, described, tagged and says its security; every schema property says what
//! it is and shows a value; every error is a problem.

use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn document() -> Value {
    serde_json::to_value(masthead::openapi::document()).expect("the document serialises")
}

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((format!("{} {path}", method.to_uppercase()), op));
            }
        }
    }
    assert!(ops.len() > 30, "only {} operations", ops.len());
    ops
}

/// The schema a `$ref` points to (`#/components/schemas/X`, `#/components/responses/X`).
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {reference}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
            resolve(doc, target)
        }
        None => node,
    }
}

fn non_empty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

fn members(schema: &Value) -> impl Iterator<Item = &Value> {
    ["allOf", "oneOf", "anyOf"]
        .into_iter()
        .filter_map(|k| schema.get(k).and_then(Value::as_array))
        .flatten()
        .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
}

/// A description on the property itself, or on what it refers to or is composed of.
fn has_description(doc: &Value, schema: &Value, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    non_empty_str(schema.get("description"))
        || (schema.get("$ref").is_some() && has_description(doc, resolve(doc, schema), depth + 1))
        || members(schema).any(|m| has_description(doc, m, depth + 1))
}

/// An example on the property itself, or on what it refers to, is composed of or holds. An
/// object with properties has one by composition: each of its properties is checked on its own.
fn has_example(doc: &Value, schema: &Value, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    if schema.get("example").is_some()
        || schema
            .get("examples")
            .is_some_and(|e| e.as_array().is_none_or(|a| !a.is_empty()))
    {
        return true;
    }
    if schema.get("$ref").is_some() {
        return has_example(doc, resolve(doc, schema), depth + 1);
    }
    if members(schema).any(|m| has_example(doc, m, depth + 1)) {
        return true;
    }
    if let Some(items) = schema.get("items") {
        return has_example(doc, items, depth + 1);
    }
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// Walks a schema and everything inside it (properties, items, composition members, but not
/// `$ref` targets: those are walked as components), collecting properties lacking a description
/// or an example.
fn walk_schema(doc: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let here = format!("{at}.{name}");
            if !has_description(doc, prop, 0) {
                problems.push(format!("{here} has no description"));
            }
            if !has_example(doc, prop, 0) {
                problems.push(format!("{here} has no example"));
            }
            walk_schema(doc, prop, &here, problems);
        }
    }
    if let Some(items) = schema.get("items") {
        walk_schema(doc, items, &format!("{at}[]"), problems);
    }
    for (i, member) in members(schema).enumerate() {
        walk_schema(doc, member, &format!("{at}<{i}>"), problems);
    }
}

#[test]
fn every_operation_has_an_id_summary_description_tag_and_security() {
    let doc = document();
    let mut problems = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for (name, op) in operations(&doc) {
        match op.get("operationId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                if !ids.insert(id.to_string()) {
                    problems.push(format!("{name}: operationId {id} is used twice"));
                }
            }
            _ => problems.push(format!("{name}: no operationId")),
        }
        if !non_empty_str(op.get("summary")) {
            problems.push(format!("{name}: no summary"));
        }
        if !non_empty_str(op.get("description")) {
            problems.push(format!("{name}: no description"));
        }
        if op
            .get("tags")
            .and_then(Value::as_array)
            .is_none_or(|t| t.is_empty())
        {
            problems.push(format!("{name}: no tag"));
        }
        // Public operations say so with `[{}]`; an absent `security` says nothing.
        if op
            .get("security")
            .and_then(Value::as_array)
            .is_none_or(|s| s.is_empty())
        {
            problems.push(format!("{name}: no security"));
        }
        for param in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let param = resolve(&doc, param);
            if !non_empty_str(param.get("description")) {
                problems.push(format!(
                    "{name}: parameter {} has no description",
                    param["name"]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_schema_property_has_a_description_and_an_example() {
    let doc = document();
    let mut problems = Vec::new();
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .expect("component schemas")
    {
        walk_schema(&doc, schema, name, &mut problems);
    }
    // Inline schemas of bodies and answers too.
    for (name, op) in operations(&doc) {
        let bodies = op
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        let answers = op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(_, r)| resolve(&doc, r).get("content").and_then(Value::as_object))
            .flatten();
        for (media_type, content) in bodies.chain(answers) {
            if let Some(schema) = content.get("schema") {
                walk_schema(&doc, schema, &format!("{name} {media_type}"), &mut problems);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_error_response_is_a_problem_document() {
    let doc = document();
    let mut problems = Vec::new();
    let mut errors = 0;
    for (name, op) in operations(&doc) {
        for (code, response) in op["responses"].as_object().expect("responses") {
            if !(code.starts_with('4') || code.starts_with('5')) {
                continue;
            }
            errors += 1;
            let content = resolve(&doc, response)
                .get("content")
                .and_then(Value::as_object);
            let ok = content.is_some_and(|c| {
                c.len() == 1
                    && c.get("application/problem+json")
                        .and_then(|m| m.pointer("/schema/$ref"))
                        .and_then(Value::as_str)
                        == Some("#/components/schemas/Problem")
            });
            if !ok {
                problems.push(format!(
                    "{name} {code}: not only application/problem+json with the Problem schema"
                ));
            }
        }
    }
    assert!(errors > 50, "only {errors} error responses");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_description_explains_auth_roles_pagination_errors_caching_and_rate_limits() {
    let doc = document();
    let description = doc["info"]["description"]
        .as_str()
        .expect("info.description")
        .to_lowercase();
    for topic in [
        "bearer",
        "admin",
        "editor",
        "moderator",
        "next_cursor",
        "application/problem+json",
        "etag",
        "cache-control",
        "retry-after",
        "429",
    ] {
        assert!(
            description.contains(topic),
            "info.description does not mention {topic}"
        );
    }
}
