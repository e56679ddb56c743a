//! The event log's retention (issue 20): events older than the retention go, oldest first, once
//! every plugin has consumed them; what a plugin still needs stays, and so does everything
//! while a plugin of this process has no place in the log yet.

#![allow(clippy::unwrap_used)]

use api::service::audit;
use chrono::{Duration, Utc};
use entity::{outbox_event, plugin_cursor};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr};

use crate::backend_tests;
use crate::harness::app::*;

async fn positions(app: &TestApp) -> Vec<i64> {
    outbox_event::Entity::find()
        .order_by_asc(outbox_event::Column::Position)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.position)
        .collect()
}

async fn place(app: &TestApp, plugin: &str, at: &outbox_event::Model) {
    let row = plugin_cursor::ActiveModel {
        plugin: Set(plugin.into()),
        last_txid: Set(at.txid),
        last_position: Set(at.position),
        lease_owner: Set(None),
        lease_until: Set(None),
        failures: Set(0),
        last_error: Set(None),
        updated_at: Set(Utc::now()),
    };
    match plugin_cursor::Entity::find_by_id(plugin.to_owned())
        .one(&app.state.db)
        .await
        .unwrap()
    {
        Some(_) => row.update(&app.state.db).await.map(|_| ()),
        None => row.insert(&app.state.db).await.map(|_| ()),
    }
    .unwrap();
}

async fn audit_retention_keeps_what_plugins_still_need(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    let db = &app.state.db;
    let rows = outbox_event::Entity::find()
        .order_by_asc(outbox_event::Column::Position)
        .all(db)
        .await
        .unwrap();
    let n = rows.len();
    assert!(n > 20, "{n}");
    // All but the newest five were recorded 500 days ago; the retention keeps 400.
    let young = 5;
    let aged = Utc::now() - Duration::days(500);
    outbox_event::Entity::update_many()
        .col_expr(outbox_event::Column::OccurredAt, Expr::value(aged))
        .filter(outbox_event::Column::Position.lte(rows[n - young - 1].position))
        .exec(db)
        .await
        .unwrap();
    let cutoff = Utc::now() - Duration::days(400);
    // The email plugin has consumed the first eight events.
    let consumed = 8;
    place(&app, "email", &rows[consumed - 1]).await;
    // A plugin this process runs without a place in the log yet: nothing goes.
    assert_eq!(audit::prune(db, cutoff, &["email", "platform"], 3).await.unwrap(), 0);
    assert_eq!(positions(&app).await.len(), n);
    // Only what the plugin consumed goes, in batches smaller than the work.
    assert_eq!(audit::prune(db, cutoff, &["email"], 3).await.unwrap(), consumed as u64);
    let kept: Vec<i64> = rows[consumed..].iter().map(|r| r.position).collect();
    assert_eq!(positions(&app).await, kept);
    // A second plugin behind the first holds everything after its own place.
    place(&app, "platform", &rows[consumed + 1]).await;
    place(&app, "email", &rows[n - 1]).await;
    assert_eq!(audit::prune(db, cutoff, &["email"], 3).await.unwrap(), 2);
    // Once both are past them, the old events go and the young ones stay.
    place(&app, "platform", &rows[n - 1]).await;
    assert_eq!(
        audit::prune(db, cutoff, &["email", "platform"], 3).await.unwrap(),
        (n - young - consumed - 2) as u64
    );
    let young_rows: Vec<i64> = rows[n - young..].iter().map(|r| r.position).collect();
    assert_eq!(positions(&app).await, young_rows);
    assert_eq!(audit::prune(db, cutoff, &["email", "platform"], 3).await.unwrap(), 0);
    // The audit log reads what is left of the account.
    let left = outbox_event::Entity::find()
        .filter(outbox_event::Column::AccountId.eq(w.b.account))
        .all(db)
        .await
        .unwrap()
        .len();
    let query = "query($a: ID!) { node(id: $a) { ... on Account { auditLog(first: 50) { totalCount } } } }";
    let body = app
        .gql(
            &app.support(),
            query,
            serde_json::json!({"a": gid(api::graphql::ids::Kind::Account, w.b.account)}),
        )
        .await;
    assert_eq!(
        body["data"]["node"]["auditLog"]["totalCount"],
        serde_json::json!(left),
        "{body}"
    );
}

backend_tests!(audit_retention_keeps_what_plugins_still_need);
