//! A feed's row in `plugin_cursor`: the lease that lets one process at a time feed a plugin,
//! the plugin's place in the log, and its failures.

use std::sync::atomic::Ordering;

use chrono::Utc;
use entity::plugin_cursor;
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};

use super::feed::{Feed, FeedError};
use crate::log::Cursor;

impl Feed {
    /// The cursor, when this process holds (or now takes) its lease.
    pub(super) async fn claim(&self) -> Result<Option<Cursor>, DbErr> {
        use plugin_cursor::Column;
        let now = Utc::now();
        let name = self.plugin.name();
        if !self.registered.load(Ordering::Relaxed) {
            self.register(now).await?;
            self.registered.store(true, Ordering::Relaxed);
        }
        let held = plugin_cursor::Entity::update_many()
            .col_expr(Column::LeaseOwner, Expr::value(self.ctx.owner.clone()))
            .col_expr(Column::LeaseUntil, Expr::value(now + self.lease))
            .filter(Column::Plugin.eq(name))
            .filter(
                Condition::any()
                    .add(Column::LeaseOwner.is_null())
                    .add(Column::LeaseOwner.eq(self.ctx.owner.clone()))
                    .add(Column::LeaseUntil.lt(now)),
            )
            .exec_with_returning(&self.ctx.db)
            .await?;
        Ok(held.first().map(|c| Cursor {
            txid: c.last_txid,
            position: c.last_position,
        }))
    }

    /// Creates the plugin's cursor at the start of the log, unless it exists.
    async fn register(&self, now: chrono::DateTime<Utc>) -> Result<(), DbErr> {
        plugin_cursor::Entity::insert(plugin_cursor::ActiveModel {
            plugin: Set(self.plugin.name().to_owned()),
            last_txid: Set(0),
            last_position: Set(0),
            lease_owner: Set(None),
            lease_until: Set(None),
            failures: Set(0),
            last_error: Set(None),
            updated_at: Set(now),
        })
        .on_conflict_do_nothing_on([plugin_cursor::Column::Plugin])
        .exec(&self.ctx.db)
        .await
        .map(|_| ())
    }

    /// An update of this plugin's cursor that applies only while this process holds it.
    fn held(&self) -> sea_orm::UpdateMany<plugin_cursor::Entity> {
        use plugin_cursor::Column;
        plugin_cursor::Entity::update_many()
            .filter(Column::Plugin.eq(self.plugin.name()))
            .filter(Column::LeaseOwner.eq(self.ctx.owner.clone()))
    }

    /// Saves the plugin's place and renews the lease; false when another process holds it now.
    pub(super) async fn advance(&self, at: Cursor) -> Result<bool, DbErr> {
        use plugin_cursor::Column;
        let now = Utc::now();
        let done = self
            .held()
            .col_expr(Column::LastTxid, Expr::value(at.txid))
            .col_expr(Column::LastPosition, Expr::value(at.position))
            .col_expr(Column::Failures, Expr::value(0))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(now + self.lease))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .exec(&self.ctx.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    pub(super) async fn note_failure(&self, e: &FeedError) -> Result<(), DbErr> {
        use plugin_cursor::Column;
        self.held()
            .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
            .col_expr(Column::LastError, Expr::value(e.to_string()))
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(&self.ctx.db)
            .await
            .map(|_| ())
    }

    /// Lets another process (or this one, restarted) take the cursor at once.
    pub(super) async fn release(&self) -> Result<(), DbErr> {
        use plugin_cursor::Column;
        self.held()
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .exec(&self.ctx.db)
            .await
            .map(|_| ())
    }
}
