//! Batch reads behind the Remote Extension fields, and the derived answers the API shows
//! (`locked`, `lockReasons`, `callThroughEffective`, `deletable`, the active remote extension),
//! each defined once here so that the API, the service checks and the property test agree.

use std::collections::HashMap;

use entity::{NumberOrigin, client_profile, dynamic_status, remote_user, user_number};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

use crate::service::{
    extension_claims::CHUNK,
    pagination::{self, Cursor, Keyset, Shape},
};

/// Why a number's `number` and `isRemoteExtension` cannot change (R5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockReason {
    /// Provisioned by an admin or the platform.
    Provisioned,
    /// Some status of the user points at it.
    UsedByStatus,
    /// It is the active remote extension.
    ActiveRemoteExtension,
}

/// Why call through is not in effect (R11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallThroughInactive {
    /// The number is not a remote extension.
    NotRemoteExtension,
    /// Call through is switched off on the number.
    Disabled,
    /// The user's client profile does not allow call through.
    NotAllowedByProfile,
    /// The number is not the active remote extension.
    NotInActiveStatus,
}

/// The remote extension of the active status (R9).
pub fn active_remote_extension(statuses: &[dynamic_status::Model], active: Option<Uuid>) -> Option<Uuid> {
    let active = active?;
    statuses
        .iter()
        .find(|s| s.id == active)
        .and_then(|s| s.remote_extension_id)
}

/// Why `number` is locked (R5); empty when it is not.
pub fn lock_reasons(
    number: &user_number::Model,
    statuses: &[dynamic_status::Model],
    active_remote_extension: Option<Uuid>,
) -> Vec<LockReason> {
    let mut reasons = Vec::new();
    if number.origin != NumberOrigin::User {
        reasons.push(LockReason::Provisioned);
    }
    if statuses.iter().any(|s| s.numbers().any(|n| n == number.id)) {
        reasons.push(LockReason::UsedByStatus);
    }
    if active_remote_extension == Some(number.id) {
        reasons.push(LockReason::ActiveRemoteExtension);
    }
    reasons
}

/// Why call through is not in effect on `number`, or `None` when it is (R11). The first reason
/// that applies is given, in the order of [`CallThroughInactive`].
pub fn call_through_inactive(
    number: &user_number::Model,
    profile_allows: bool,
    active_remote_extension: Option<Uuid>,
) -> Option<CallThroughInactive> {
    if !number.is_remote_extension {
        Some(CallThroughInactive::NotRemoteExtension)
    } else if !number.call_through {
        Some(CallThroughInactive::Disabled)
    } else if !profile_allows {
        Some(CallThroughInactive::NotAllowedByProfile)
    } else if active_remote_extension != Some(number.id) {
        Some(CallThroughInactive::NotInActiveStatus)
    } else {
        None
    }
}

/// Whether the caller may delete `number` (R6): it is not in use, and the caller is the user
/// deleting a number they added, or an admin covering the user deleting a user- or
/// admin-provisioned one. Platform numbers leave only through the sync.
pub fn deletable(number: &user_number::Model, reasons: &[LockReason], caller_is_admin: bool) -> bool {
    let in_use = reasons
        .iter()
        .any(|r| matches!(r, LockReason::UsedByStatus | LockReason::ActiveRemoteExtension));
    let origin_ok = match number.origin {
        NumberOrigin::User => true,
        NumberOrigin::Admin => caller_is_admin,
        NumberOrigin::Platform => false,
    };
    !in_use && origin_ok
}

/// Whether the user may add remote extensions themself (R2): they hold one provisioned by an
/// admin or the platform.
pub fn can_add_remote_extension(numbers: &[user_number::Model]) -> bool {
    numbers
        .iter()
        .any(|n| n.is_remote_extension && n.origin != NumberOrigin::User)
}

/// The numbers of these users, oldest first (ids are UUIDv7), keyed by user.
pub async fn numbers_of_users(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<user_number::Model>>, DbErr> {
    let mut found: HashMap<Uuid, Vec<user_number::Model>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = pagination::find::<user_number::Entity>()
            .filter(user_number::Column::UserId.is_in(chunk.to_vec()))
            .order_by_asc(user_number::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            found.entry(row.user_id).or_default().push(row);
        }
    }
    Ok(found)
}

/// A user's numbers, listed oldest first ([`Keyset`]: by id, UUIDv7).
pub fn numbers_select(user_id: Uuid) -> Select<user_number::Entity> {
    pagination::find::<user_number::Entity>().filter(user_number::Column::UserId.eq(user_id))
}

/// The [`Shape`] of [`numbers_select`].
pub fn numbers_shape(user_id: Uuid) -> Shape {
    Shape::new("User.numbers").and("user", [user_id.into()])
}

/// A user's numbers by id alone: their ids are UUIDv7, so this is oldest first.
impl Keyset for user_number::Entity {
    fn sort_column() -> Self::Column {
        user_number::Column::Id
    }

    fn id_column() -> Self::Column {
        user_number::Column::Id
    }

    fn cursor(row: &Self::Model) -> Cursor {
        Cursor {
            key: String::new(),
            id: row.id,
        }
    }
}

/// The statuses of these users, oldest first (ids are UUIDv7), keyed by user.
pub async fn statuses_of_users(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<dynamic_status::Model>>, DbErr> {
    let mut found: HashMap<Uuid, Vec<dynamic_status::Model>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = pagination::find::<dynamic_status::Entity>()
            .filter(dynamic_status::Column::UserId.is_in(chunk.to_vec()))
            .order_by_asc(dynamic_status::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            found.entry(row.user_id).or_default().push(row);
        }
    }
    Ok(found)
}

/// The Remote Extension records of these users, keyed by user.
pub async fn remote_users(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, remote_user::Model>, DbErr> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows = pagination::find::<remote_user::Entity>()
            .filter(remote_user::Column::UserId.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|r| (r.user_id, r)));
    }
    Ok(found)
}

/// Client profiles by id.
pub async fn profiles_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, client_profile::Model>, DbErr> {
    let rows = pagination::find::<client_profile::Entity>()
        .filter(client_profile::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Numbers by id.
pub async fn numbers_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, user_number::Model>, DbErr> {
    let rows = pagination::find::<user_number::Entity>()
        .filter(user_number::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Statuses by id.
pub async fn statuses_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, dynamic_status::Model>, DbErr> {
    let rows = pagination::find::<dynamic_status::Entity>()
        .filter(dynamic_status::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// An account's client profiles, the default first, then by name.
pub async fn profiles_of_account(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Vec<client_profile::Model>, DbErr> {
    pagination::find::<client_profile::Entity>()
        .filter(client_profile::Column::AccountId.eq(account_id))
        .order_by_desc(client_profile::Column::IsDefault)
        .order_by_asc(client_profile::Column::NameKey)
        .all(db)
        .await
}

/// The profile a user has: theirs where given, else the account's default (keyed by the account).
pub fn profile_id(remote: Option<&remote_user::Model>, account_id: Uuid) -> Uuid {
    remote.and_then(|r| r.client_profile_id).unwrap_or(account_id)
}
