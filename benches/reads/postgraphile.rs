//! PostGraphile v4 over the bench's PostgreSQL database, when `READS_POSTGRAPHILE` names its
//! binary: the peer for the plain mobility page.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use uuid::Uuid;

use super::load::Request;

/// The same page as Reach's plain `mobility.users`: 50 of the account's mobility users with
/// their user's name, phone number and extension, and the total count (in PostGraphile's
/// default order, the primary key: it cannot order by a related table's column).
const QUERY: &str = "query($a: UUID!) { allMobilityUsers(first: 50, condition: { accountId: $a }) {
    totalCount nodes { mobilityExtension appUserByUserId { name phoneNumber extension } } } }";

/// A running PostGraphile, ended when dropped.
pub struct PostGraphile {
    /// Its GraphQL endpoint.
    pub url: String,
    _child: Child,
}

/// The request the bench sends.
pub fn request(url: &str, account: Uuid) -> Request {
    let body = json!({ "query": QUERY, "variables": { "a": account } });
    Request {
        url: url.to_owned(),
        token: None,
        body: Some(serde_json::to_vec(&body).unwrap()),
    }
}

/// Starts `binary` on a free port against `database_url` and waits until it answers the page
/// with `total` users; `None` (with the reason printed) when it does not within a minute.
pub async fn start(binary: &str, database_url: &str, account: Uuid, total: u64) -> Option<PostGraphile> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(binary)
        .args(["-c", database_url, "-s", "public", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--disable-graphiql", "--disable-query-log"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("\n(PostGraphile not started: {binary}: {e})");
            return None;
        }
    };
    let pg = PostGraphile {
        url: format!("http://127.0.0.1:{port}/graphql"),
        _child: child,
    };
    let client = reqwest::Client::new();
    let body = json!({ "query": QUERY, "variables": { "a": account } });
    let mut last = String::from("no answer");
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(resp) = client.post(&pg.url).json(&body).send().await else {
            continue;
        };
        let answer: Value = resp.json().await.unwrap_or_default();
        let page = &answer["data"]["allMobilityUsers"];
        let nodes = page["nodes"].as_array().map_or(0, Vec::len);
        if page["totalCount"].as_u64() == Some(total)
            && nodes == 50
            && page["nodes"][0]["appUserByUserId"]["name"].is_string()
        {
            return Some(pg);
        }
        last = answer.to_string();
    }
    println!("\n(PostGraphile did not answer the page within a minute: {last})");
    None
}
