//! The schema itself: every type, field, argument and enum value carries a description (API.md),
//! and `schema.graphql` matches the code (see also `cli::schema_command_prints_the_checked_in_sdl`).

#![allow(clippy::unwrap_used)]

use serde_json::Value;

const QUERY: &str = "{ __schema { types { name kind description
    fields { name description args { name description } }
    inputFields { name description }
    enumValues { name description } } } }";

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_described() {
    let response = api::graphql::schema().execute(QUERY).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let builtin = ["String", "Boolean", "Int", "Float", "ID"];
    let mut missing = Vec::new();
    let described = |v: &Value| v["description"].as_str().is_some_and(|d| !d.trim().is_empty());
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || builtin.contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = format!("{name}.{}", field["name"].as_str().unwrap());
            if !described(field) {
                missing.push(field_name.clone());
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!("{field_name}({})", arg["name"].as_str().unwrap()));
                }
            }
        }
        for list in ["inputFields", "enumValues"] {
            for item in ty[list].as_array().into_iter().flatten() {
                if !described(item) {
                    missing.push(format!("{name}.{}", item["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed in the schema: {missing:#?}");
}
