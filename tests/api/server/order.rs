//! Response fields come back in the order they were asked for (GraphQL spec, "Serialized Map
//! Ordering"), whichever way each was resolved: at once, through the loader, by its own
//! statement, or built whole by the database — over `POST`, `GET` and the websocket.
//!
//! The query asks for every object's fields in descending alphabetical order, which is neither
//! the schema's order nor the order fields finish in, so the check is that every object of the
//! response, read key by key as sent, is in descending order.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use api::graphql::ids::Kind;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::ws_client::{Incoming, Proto, WsClient};

/// Every object's fields, each level in descending alphabetical order.
const QUERY: &str = "query Order($a: ID!) {
  viewer {
    user {
      phoneNumber
      numbers(first: 2) { totalCount nodes { number label id } }
      name
      location { name }
      id
      extension
      dynamicStatuses { name id }
      activeStatus { name }
    }
    roles { role location { name } }
    name
    kind
    account { name id }
  }
  me { roles { role } name location { name } id canAddStatus }
  account(id: $a) {
    users(first: 3) { totalCount nodes { phoneProfile name id } }
    name
    locations(first: 2) { nodes { name id } }
    id
    clientProfiles { name isDefault id }
  }
}";

/// A JSON value read with its objects' keys in the order they were sent.
#[derive(Debug)]
enum Sent {
    Object(Vec<(String, Sent)>),
    List(Vec<Sent>),
    Other,
}

impl<'de> Deserialize<'de> for Sent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Reader;
        impl<'de> Visitor<'de> for Reader {
            type Value = Sent;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sent, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Sent>()? {
                    entries.push((key, value));
                }
                Ok(Sent::Object(entries))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sent, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Sent>()? {
                    items.push(item);
                }
                Ok(Sent::List(items))
            }

            fn visit_bool<E>(self, _: bool) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
            fn visit_unit<E>(self) -> Result<Sent, E> {
                Ok(Sent::Other)
            }
        }
        deserializer.deserialize_any(Reader)
    }
}

/// The objects of `value` whose keys are not in descending order, by path; and how many
/// objects there are.
fn out_of_order(value: &Sent, path: &str, found: &mut Vec<String>) -> usize {
    match value {
        Sent::Object(entries) => {
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            if !keys.is_sorted_by(|a, b| a > b) {
                found.push(format!("{path}: {keys:?}"));
            }
            1 + entries
                .iter()
                .map(|(k, v)| out_of_order(v, &format!("{path}.{k}"), found))
                .sum::<usize>()
        }
        Sent::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| out_of_order(v, &format!("{path}[{i}]"), found))
            .sum(),
        Sent::Other => 0,
    }
}

/// Checks the `data` of a response sent as `text`.
fn assert_in_order(how: &str, text: &str, data_at: &[&str]) {
    let mut value: Sent = serde_json::from_str(text).unwrap();
    for key in data_at {
        let Sent::Object(entries) = value else {
            panic!("{how}: no {key} in {text}")
        };
        value = entries
            .into_iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("{how}: {text}"))
            .1;
    }
    let mut found = Vec::new();
    let objects = out_of_order(&value, "data", &mut found);
    assert!(found.is_empty(), "{how}: out of order:\n{}\n{text}", found.join("\n"));
    // The query's objects, every one present (a missing one would pass unchecked).
    assert!(objects >= 20, "{how}: only {objects} objects in {text}");
}

async fn fields_come_back_in_the_order_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    // The MX-ONE tenant, so the user has numbers, statuses and client profiles.
    let t = &w.b;
    let token = app.token(t.dm);
    let variables = json!({ "a": gid(Kind::Account, t.account) });
    let check = app.gql(&token, QUERY, variables.clone()).await;
    assert!(check["errors"].is_null(), "{check}");

    let post = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .json(&json!({ "query": QUERY, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_in_order("POST", &post.text().await.unwrap(), &["data"]);

    let get = app
        .client
        .get(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .query(&[("query", QUERY), ("variables", &variables.to_string())])
        .send()
        .await
        .unwrap();
    assert_in_order("GET", &get.text().await.unwrap(), &["data"]);

    for proto in Proto::BOTH {
        let mut ws = WsClient::ready(&app.address, proto, &token).await;
        ws.subscribe("q", QUERY, variables.clone()).await;
        match ws.next(Duration::from_secs(10)).await {
            Incoming::Next { .. } => assert_in_order(&format!("{proto:?}"), &ws.last_text, &["payload", "data"]),
            other => panic!("{proto:?}: {other:?}"),
        }
    }
}

backend_tests!(fields_come_back_in_the_order_asked);
