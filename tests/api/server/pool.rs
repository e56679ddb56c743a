//! The connection pool (issue 17). A PostgreSQL connection is pinged before it is handed out
//! only when it has sat idle for [`api::db::PING_IF_IDLE_FOR`] (pinging at every checkout cost
//! a round trip to the server per statement), so a connection the server closed while idle —
//! a restart, a pooler, a firewall — is still found and replaced before a request gets it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;

const ACCOUNTS: &str = "{ accounts(first: 5) { totalCount nodes { name } } }";

async fn a_connection_the_server_closed_while_idle_is_replaced(backend: Backend) {
    let sqlite = matches!(backend, Backend::Sqlite);
    // No plugins or subscriptions: nothing but the test's requests takes a connection.
    let app = spawn_app_with(backend, quiet).await;
    if sqlite {
        // An embedded database has no connection to lose: never pinged.
        let pool = app.state.db.get_sqlite_connection_pool();
        assert!(!pool.options().get_test_before_acquire(), "SQLite is never pinged");
        return;
    }
    let pool = app.state.db.get_postgres_connection_pool();
    assert!(
        !pool.options().get_test_before_acquire(),
        "no ping at every checkout, only after the connection sat idle"
    );
    let token = app.support();
    // Several requests at once, so that the pool holds several connections.
    let warm = (0..4).map(|_| app.gql(&token, ACCOUNTS, json!({})));
    for body in futures::future::join_all(warm).await {
        assert!(body["errors"].is_null(), "{body}");
    }

    // Every connection of the server's pool is closed by the database server, as a restart
    // would, from a connection of the test's own.
    let sql = "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
               WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND backend_type = 'client backend'";
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let outside = sea_orm::Database::connect(url).await.unwrap();
    let closed = count(&outside, sql).await;
    assert!(closed >= 1, "the pool held other connections to close: {closed}");
    tokio::time::sleep(api::db::PING_IF_IDLE_FOR + Duration::from_millis(300)).await;

    // Each connection has now been idle long enough to be pinged: the dead ones are replaced
    // and every request is answered, one at a time and several at once.
    for _ in 0..3 {
        let body = app.gql(&token, ACCOUNTS, json!({})).await;
        assert!(body["errors"].is_null(), "a request got a closed connection: {body}");
        assert!(body["data"]["accounts"]["totalCount"].is_number(), "{body}");
    }
    let at_once = (0..4).map(|_| app.gql(&token, ACCOUNTS, json!({})));
    for body in futures::future::join_all(at_once).await {
        assert!(body["errors"].is_null(), "a request got a closed connection: {body}");
    }
}

backend_tests!(a_connection_the_server_closed_while_idle_is_replaced);
