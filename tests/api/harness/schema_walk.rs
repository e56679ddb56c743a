//! Walks the schema by introspection, for tests that must cover every argument or input field
//! (a new one cannot be forgotten): the types by name, type references, and input values built
//! from them.

#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};

/// Every type with its fields, arguments, input fields and enum values, type references four
/// wrappers deep.
pub const INTROSPECT: &str = "{ __schema { types { name kind enumValues { name }
    fields { name type { ...T } args { name type { ...T } } } inputFields { name type { ...T } } } } }
  fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// The schema's types by name, read by introspection of the data-less schema.
pub async fn types() -> Map<String, Value> {
    let response = api::graphql::schema().execute(INTROSPECT).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    data["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

/// The named type under any `NON_NULL`/`LIST` wrappers.
pub fn named(t: &Value) -> &Value {
    if t["name"].is_string() { t } else { named(&t["ofType"]) }
}

/// A type reference as written in a variable declaration (`[ID!]!`).
pub fn written(t: &Value) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", written(&t["ofType"])),
        "LIST" => format!("[{}]", written(&t["ofType"])),
        _ => t["name"].as_str().unwrap().to_owned(),
    }
}

/// The smallest value of a type reference that the schema accepts.
pub fn minimal(types: &Map<String, Value>, t: &Value) -> Value {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => minimal(types, &t["ofType"]),
        "LIST" => json!([minimal(types, &t["ofType"])]),
        _ => {
            let name = t["name"].as_str().unwrap();
            let ty = &types[name];
            match (ty["kind"].as_str().unwrap(), name) {
                ("SCALAR", "Int") => json!(1),
                ("SCALAR", "Float") => json!(1.0),
                ("SCALAR", "Boolean") => json!(false),
                ("SCALAR", "DateTime") => json!("2024-01-01T00:00:00Z"),
                ("SCALAR", _) => json!("x"),
                ("ENUM", _) => ty["enumValues"][0]["name"].clone(),
                ("INPUT_OBJECT", _) => required_fields(types, ty),
                other => panic!("no minimal value for {other:?}"),
            }
        }
    }
}

pub fn required_fields(types: &Map<String, Value>, ty: &Value) -> Value {
    let mut obj = Map::new();
    for f in ty["inputFields"].as_array().unwrap() {
        if f["type"]["kind"] == "NON_NULL" {
            obj.insert(f["name"].as_str().unwrap().to_owned(), minimal(types, &f["type"]));
        }
    }
    Value::Object(obj)
}

/// Every way to put `bad` in one string (or id) of a value of type `t`, the rest minimal: the
/// path to it (as `userErrors.field` names it) and the whole value.
pub fn with_one_bad(types: &Map<String, Value>, t: &Value, bad: &str) -> Vec<(Vec<String>, Value)> {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => with_one_bad(types, &t["ofType"], bad),
        "LIST" => with_one_bad(types, &t["ofType"], bad)
            .into_iter()
            .map(|(mut path, v)| {
                path.insert(0, "0".into());
                (path, json!([v]))
            })
            .collect(),
        "SCALAR" if ["String", "ID"].contains(&t["name"].as_str().unwrap()) => vec![(vec![], json!(bad))],
        "INPUT_OBJECT" => {
            let ty = &types[t["name"].as_str().unwrap()];
            let mut out = Vec::new();
            for f in ty["inputFields"].as_array().unwrap() {
                let name = f["name"].as_str().unwrap();
                for (mut path, v) in with_one_bad(types, &f["type"], bad) {
                    let mut whole = required_fields(types, ty);
                    whole[name] = v;
                    path.insert(0, name.to_owned());
                    out.push((path, whole));
                }
            }
            out
        }
        _ => vec![],
    }
}
