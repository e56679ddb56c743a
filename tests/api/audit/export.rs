//! `reach audit` (issue 20), run as a real process: every entry of the account, oldest first, in
//! JSON Lines or CSV; `--since`; CSV cells a spreadsheet would run as formulas made inert.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

fn run(app: &TestApp, args: &[&str]) -> std::process::Output {
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let dir = crate::server::cli::temp_dir();
    crate::server::cli::reach(&dir)
        .arg("audit")
        .args(args)
        .env("REACH_DATABASE_URL", &url)
        .output()
        .unwrap()
}

async fn audit_export_from_the_command_line(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    let t = &w.a;
    // More entries than the export reads at a time (500).
    let rows = (0..600)
        .map(|i| api::service::directory::UserFields {
            location_id: None,
            name: format!("Many {i:03}"),
            email: None,
            phone_number: None,
            extension: format!("{}", 5000 + i),
            phone_profile: entity::PhoneProfile::Basic,
        })
        .collect();
    let support = api::policy::Principal::Support { name: "fixture".into() };
    let cfg = &app.state.settings.remote_extension;
    api::service::directory::import_users(&app.state.db, &support, cfg, Some(t.account), rows)
        .await
        .unwrap();
    // The Decision Maker names themself as a formula, then renames a user.
    let rename = "mutation($u: ID!, $n: String!) { userUpdate(input: {id: $u, name: $n}) { userErrors { code } } }";
    let formula = "=HYPERLINK(\"http://127.0.0.1/x\")";
    for (user, name) in [(t.dm, formula), (t.user1, "Uma Two")] {
        let body = app
            .gql(&app.token(t.dm), rename, json!({"u": gid(Kind::User, user), "n": name}))
            .await;
        assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
    }
    let mut stored = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::AccountId.eq(t.account))
        .all(&app.state.db)
        .await
        .unwrap();
    stored.sort_by_key(|r| (r.occurred_at, r.position));
    let ids: Vec<String> = stored.iter().map(|r| r.id.to_string()).collect();
    assert!(ids.len() > 600);
    let account = gid(Kind::Account, t.account);
    let listed: Vec<Value> = (stored.iter())
        .map(|r| json!({"eventId": r.id.to_string(), "occurredAt": r.occurred_at.to_rfc3339()}))
        .collect();

    // JSON Lines, oldest first: the entries the API lists, with their content.
    let out = run(&app, &["--account", &account]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = (String::from_utf8(out.stdout).unwrap().lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.iter().map(|l| l["eventId"].as_str().unwrap()).collect::<Vec<_>>(),
        ids
    );
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "user.updated");
    assert_eq!(last["actor"], json!({"kind": "user", "name": formula, "userId": t.dm}));
    assert_eq!(last["subjectId"], json!(gid(Kind::User, t.user1)));
    assert_eq!(
        last["changes"],
        json!([{"field": "name", "oldValue": "Uma One", "newValue": "Uma Two"}])
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{} audit entries written", ids.len())));

    // CSV with a header; the formula is inert.
    let out = run(&app, &["--account", &account, "--format", "csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..3], ["event_id", "occurred_at", "kind"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.iter().map(|r| r[0].to_owned()).collect::<Vec<_>>(), ids);
    let last = records.last().unwrap();
    assert_eq!(&last[4], format!("'{formula}"), "the actor's name, inert");
    assert_eq!(&last[8], "name: Uma One -> Uma Two");
    let renamed = &records[records.len() - 2];
    assert!(renamed[8].contains("-> =HYPERLINK"), "{:?}", &renamed[8]);
    assert!(records.iter().flat_map(|r| r.iter()).all(|cell| !cell.starts_with('=')));

    // `--since` keeps the entries at or after the instant.
    let middle = &listed[listed.len() / 2];
    let out = run(
        &app,
        &["--account", &account, "--since", middle["occurredAt"].as_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let since: Vec<String> = (String::from_utf8(out.stdout).unwrap().lines())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let at = |e: &Value| {
        e["occurredAt"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let expected: Vec<&str> = (listed.iter())
        .filter(|e| at(e) >= at(middle))
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(since, expected);

    // An unknown account: a clear message and a failing exit code.
    let out = run(&app, &["--account", &gid(Kind::Account, uuid::Uuid::now_v7())]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account has the id"));
}

backend_tests!(audit_export_from_the_command_line);
