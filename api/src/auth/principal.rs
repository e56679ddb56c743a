//! The user principal a token stands for, read in one statement: the user's current roles, and
//! their user and account records.

use entity::{account, role_assignment, user};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType, QueryResult, QuerySelect,
    RelationDef,
};
use uuid::Uuid;

use crate::policy::{Grant, UserPrincipal};

/// A user, their current roles, and their user and account records, in one statement (every
/// request with a user token reads it).
pub async fn load_user_principal(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<(UserPrincipal, (user::Model, account::Model))>, DbErr> {
    let roles: RelationDef = role_assignment::Entity::belongs_to(user::Entity)
        .from(role_assignment::Column::UserId)
        .to(user::Column::Id)
        .into();
    let of_account: RelationDef = user::Entity::belongs_to(account::Entity)
        .from(user::Column::AccountId)
        .to(account::Column::Id)
        .into();
    let mut select = user::Entity::find_by_id(user_id)
        .select_only()
        .join(JoinType::InnerJoin, of_account)
        .join_rev(JoinType::LeftJoin, roles)
        .column_as(role_assignment::Column::Role, "role")
        .column_as(role_assignment::Column::LocationId, "role_location_id");
    for column in user::Column::iter() {
        select = select.column_as(column, format!("{USER}{}", column.as_str()));
    }
    for column in account::Column::iter() {
        select = select.column_as(column, format!("{ACCOUNT}{}", column.as_str()));
    }
    let rows = select.into_model::<PrincipalRow>().all(db).await?;
    let roles = rows
        .iter()
        .filter_map(|r| {
            r.role.map(|role| Grant {
                role,
                location_id: r.role_location_id,
            })
        })
        .collect();
    let Some(first) = rows.into_iter().next() else {
        return Ok(None);
    };
    let principal = UserPrincipal {
        user_id: first.user.id,
        account_id: first.user.account_id,
        location_id: first.user.location_id,
        roles,
    };
    Ok(Some((principal, (first.user, first.account))))
}

/// The prefixes of the user's and the account's records' columns in a [`PrincipalRow`] (apart
/// from the role's columns, and from each other: both tables have an `id`).
const USER: &str = "caller_user_";
const ACCOUNT: &str = "caller_account_";

/// A row of [`load_user_principal`]: one role (if any), the user's and the account's records.
struct PrincipalRow {
    role: Option<entity::Role>,
    role_location_id: Option<Uuid>,
    user: user::Model,
    account: account::Model,
}

impl FromQueryResult for PrincipalRow {
    fn from_query_result(r: &QueryResult, _: &str) -> Result<Self, DbErr> {
        Ok(Self {
            role: r.try_get("", "role")?,
            role_location_id: r.try_get("", "role_location_id")?,
            user: user::Model::from_query_result(r, USER)?,
            account: account::Model::from_query_result(r, ACCOUNT)?,
        })
    }
}
