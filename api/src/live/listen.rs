//! PostgreSQL `LISTEN reach_outbox`: wakes this process's readers of the log (subscriptions and
//! plugins) when any process commits events. A notification only says "look"; the readers then
//! read the log, so a notification lost while the connection was down costs nothing but time:
//! the connection is made again with backoff, and the readers look once it is back.

use std::time::Duration;

use integrations::Wake;
use sea_orm::{
    DatabaseConnection,
    sqlx::{self, postgres::PgListener},
};
use tokio_util::sync::CancellationToken;

use crate::auth::cache::PrincipalCache;

/// The channel the `outbox_event` trigger notifies.
pub const CHANNEL: &str = "reach_outbox";
/// `application_name` of the listening connection, followed by `:` and the process id (to
/// find it in `pg_stat_activity`).
pub const APPLICATION_NAME: &str = "reach-listen";

/// Connects and listens (the first time before the server accepts connections).
pub async fn connect(db: &DatabaseConnection) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(format!("{APPLICATION_NAME}:{}", std::process::id()))
        .execute(&mut listener)
        .await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Listens until `stop` on `first` (or a connection of its own), raising `wake` at each
/// notification and after each reconnection. Each also retires the kept principals at once,
/// before the readers of the log look: another process may have changed a role.
pub async fn run(
    db: DatabaseConnection,
    wake: Wake,
    principals: PrincipalCache,
    mut first: Option<PgListener>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = match first.take() {
            Some(listener) => Ok(listener),
            None => connect(&db).await,
        };
        let mut listener = match connected {
            Ok(listener) => {
                backoff = Duration::from_millis(100);
                // Whatever committed while no one listened is found now.
                principals.invalidate();
                wake.notify();
                listener
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot LISTEN for outbox events");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => {
                        principals.invalidate();
                        wake.notify();
                    }
                    Ok(None) => {
                        tracing::warn!("the LISTEN connection was lost; connecting again");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the LISTEN connection failed; connecting again");
                        break;
                    }
                }
            }
        }
    }
}
