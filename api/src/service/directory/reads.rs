//! Directory reads: visibility-filtered lists (one query a page) and batch loads for DataLoaders.

use std::collections::HashMap;

use entity::{access_number, account, location, role_assignment, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Value,
    sea_query::{Expr, LikeExpr},
};
use uuid::Uuid;

use crate::{
    policy::{Principal, UserScope, UserVisibility},
    service::pagination::{self, Cursor, Keyset, Shape},
};

fn search_filter<C: ColumnTrait>(column: C, search: Option<&str>) -> Condition {
    match given(search) {
        Some(s) => {
            Condition::all().add(Expr::col(column).like(LikeExpr::new(pagination::like_pattern(s)).escape('\\')))
        }
        None => Condition::all(),
    }
}

/// A search as the filters read it: trimmed, `None` when empty.
fn given(search: Option<&str>) -> Option<&str> {
    search.map(str::trim).filter(|s| !s.is_empty())
}

/// The accounts a principal may list: every account for Support, their own for a user.
pub fn accounts_select(p: &Principal, search: Option<&str>) -> Select<account::Entity> {
    let mut select = pagination::find::<account::Entity>().filter(search_filter(account::Column::SortName, search));
    if let Some(u) = p.user() {
        select = select.filter(account::Column::Id.eq(u.account_id));
    }
    select
}

/// The [`Shape`] of [`accounts_select`].
pub fn accounts_shape(p: &Principal, search: Option<&str>) -> Shape {
    let shape = Shape::new("accounts").and_text("search", given(search));
    match p.user() {
        Some(u) => shape.and("own", [u.account_id.into()]),
        None => shape,
    }
}

/// An account, if the principal may see it (T1).
pub async fn account(db: &impl ConnectionTrait, p: &Principal, id: Uuid) -> Result<Option<account::Model>, DbErr> {
    if !p.sees_account(id) {
        return Ok(None);
    }
    account::Entity::find_by_id(id).one(db).await
}

/// The users of an account that a principal may see, matching `search` (case-insensitive
/// substring of name, email, phone number or extension).
pub fn users_select(p: &Principal, account_id: Uuid, search: Option<&str>) -> Select<user::Entity> {
    let select = pagination::find::<user::Entity>()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(search_filter(user::Column::SearchText, search));
    match p.user_visibility(account_id) {
        UserVisibility::All => select,
        UserVisibility::Locations { locations, myself } => select.filter(
            Condition::any()
                .add(user::Column::LocationId.is_in(locations))
                .add(user::Column::Id.eq(myself)),
        ),
        UserVisibility::Myself(me) => select.filter(user::Column::Id.eq(me)),
        UserVisibility::Nobody => select.filter(Expr::val(1).eq(0)),
    }
}

/// The [`Shape`] of [`users_select`].
pub fn users_shape(p: &Principal, account_id: Uuid, search: Option<&str>) -> Shape {
    let shape = Shape::new("Account.users")
        .and("account", [account_id.into()])
        .and_text("search", given(search));
    match p.user_visibility(account_id) {
        UserVisibility::All => shape,
        UserVisibility::Locations { locations, myself } => shape.and(
            &format!("locations{}", locations.len()),
            locations.into_iter().chain([myself]).map(Value::from),
        ),
        UserVisibility::Myself(me) => shape.and("myself", [me.into()]),
        UserVisibility::Nobody => shape.and("nobody", []),
    }
}

/// An account's locations.
pub fn locations_select(account_id: Uuid) -> Select<location::Entity> {
    pagination::find::<location::Entity>().filter(location::Column::AccountId.eq(account_id))
}

/// An account's access numbers.
pub fn access_numbers_select(account_id: Uuid) -> Select<access_number::Entity> {
    pagination::find::<access_number::Entity>().filter(access_number::Column::AccountId.eq(account_id))
}

macro_rules! keyset {
    ($entity:path, $sort:ident, $key:ident, $doc:literal) => {
        #[doc = $doc]
        impl Keyset for $entity {
            fn sort_column() -> Self::Column {
                <$entity as EntityTrait>::Column::$sort
            }

            fn id_column() -> Self::Column {
                <$entity as EntityTrait>::Column::Id
            }

            fn cursor(row: &Self::Model) -> Cursor {
                Cursor {
                    key: row.$key.clone(),
                    id: row.id,
                }
            }
        }
    };
}

keyset!(account::Entity, SortName, sort_name, "Accounts by lower-cased name.");
keyset!(user::Entity, SortName, sort_name, "Users by lower-cased name.");
keyset!(location::Entity, SortName, sort_name, "Locations by lower-cased name.");
keyset!(access_number::Entity, Number, number, "Access numbers by number.");

/// The scope a policy check needs for a user row.
pub fn scope(u: &user::Model) -> UserScope {
    UserScope {
        id: u.id,
        account_id: u.account_id,
        location_id: u.location_id,
    }
}

/// Rows of `E` whose `id_column` is one of `ids`, in one query, keyed by id.
async fn by_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_column: E::Column,
    ids: &[Uuid],
    id_of: fn(&E::Model) -> Uuid,
) -> Result<HashMap<Uuid, E::Model>, DbErr>
where
    E::Model: Send + Sync,
{
    let rows = pagination::find::<E>()
        .filter(id_column.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (id_of(&r), r)).collect())
}

/// Accounts by id, in one query.
pub async fn accounts_by_id(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, account::Model>, DbErr> {
    by_id::<account::Entity>(db, account::Column::Id, ids, |r| r.id).await
}

/// Locations by id, in one query.
pub async fn locations_by_id(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, location::Model>, DbErr> {
    by_id::<location::Entity>(db, location::Column::Id, ids, |r| r.id).await
}

/// Users by id, in one query.
pub async fn users_by_id(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, DbErr> {
    by_id::<user::Entity>(db, user::Column::Id, ids, |r| r.id).await
}

/// A user with their account, in one statement (a user's own screen reads both).
pub async fn user_with_account(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(user::Model, account::Model)>, DbErr> {
    let on_account: sea_orm::RelationDef = user::Entity::belongs_to(account::Entity)
        .from(user::Column::AccountId)
        .to(account::Column::Id)
        .into();
    let found = user::Entity::find_by_id(id)
        .join(sea_orm::JoinType::InnerJoin, on_account)
        .select_also(account::Entity)
        .one(db)
        .await?;
    Ok(found.and_then(|(u, a)| a.map(|a| (u, a))))
}

/// Access numbers by id, in one query.
pub async fn access_numbers_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, access_number::Model>, DbErr> {
    by_id::<access_number::Entity>(db, access_number::Column::Id, ids, |r| r.id).await
}

/// Role assignments by id, in one query.
pub async fn role_assignments_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, role_assignment::Model>, DbErr> {
    by_id::<role_assignment::Entity>(db, role_assignment::Column::Id, ids, |r| r.id).await
}

/// The roles of many users, in one query.
pub async fn roles_of_users(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<role_assignment::Model>>, DbErr> {
    let rows = pagination::find::<role_assignment::Entity>()
        .filter(role_assignment::Column::UserId.is_in(user_ids.to_vec()))
        .order_by_asc(role_assignment::Column::CreatedAt)
        .all(db)
        .await?;
    let mut map: HashMap<Uuid, Vec<role_assignment::Model>> = HashMap::new();
    for r in rows {
        map.entry(r.user_id).or_default().push(r);
    }
    Ok(map)
}

/// Users with this email address, in any account (for `reach token --user`).
pub async fn users_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Vec<user::Model>, DbErr> {
    pagination::find::<user::Entity>()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .all(db)
        .await
}
