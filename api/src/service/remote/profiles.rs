//! Client profiles (SPEC §4): what the apps let a user do — add statuses of their own (R10),
//! switch call through on (R11). Every account has a default profile (both allowed); account
//! admins add more and give them to users.

use chrono::Utc;
use entity::{Platform, account, client_profile, remote_user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{Actor, RemoteSettings, open_user};
use crate::service::GivenId;
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult,
        error::{not_found, unique_violation},
        outbox::{self, Entry, Event, ev},
        validate,
    },
};

/// A profile's fields; `None` leaves a field as it is (on create: the default, allowed).
#[derive(Clone, Debug, Default)]
pub struct ProfileInput {
    /// Name (1–64 characters, unique in the account ignoring case).
    pub name: Option<String>,
    /// Users may add statuses of their own.
    pub allow_users_add_status: Option<bool>,
    /// Users may switch call through on.
    pub call_through_allowed: Option<bool>,
}

/// `client_profile.created` (`created`) or `.updated` of `m`.
fn event(created: bool, m: &client_profile::Model) -> Entry {
    let profile = ev::ClientProfile {
        name: m.name.clone(),
        allow_users_add_status: m.allow_users_add_status,
        call_through_allowed: m.call_through_allowed,
    };
    let event = if created {
        Event::ClientProfileCreated(profile)
    } else {
        Event::ClientProfileUpdated(profile)
    };
    event.about(m.account_id, m.id)
}

fn conflict(err: sea_orm::DbErr) -> ServiceError {
    match unique_violation(&err) {
        Some(_) => ServiceError::reject(
            ErrorCode::ValidationFailed,
            &["name"],
            "the account has a client profile of this name",
        ),
        None => err.into(),
    }
}

/// Inserts an account's default profile (keyed by the account's id), inside the account's
/// creation.
pub async fn create_default_profile(
    txn: &impl ConnectionTrait,
    account: &account::Model,
) -> Result<(), sea_orm::DbErr> {
    client_profile::ActiveModel {
        id: Set(account.id),
        account_id: Set(account.id),
        name: Set("Default".into()),
        name_key: Set("default".into()),
        is_default: Set(true),
        allow_users_add_status: Set(true),
        call_through_allowed: Set(true),
        created_at: Set(account.created_at),
        updated_at: Set(account.created_at),
    }
    .insert(txn)
    .await
    .map(|_| ())
}

/// An MX-ONE account the caller manages (Support, a Decision Maker, an account-wide Phone
/// Manager). `what` names the object the caller asked about, so that another tenant's profile
/// gets exactly the answer of an unknown one (T1); a refusal names who may `action`.
async fn managed_account(
    txn: &impl ConnectionTrait,
    p: &Principal,
    account_id: Option<Uuid>,
    field: &[&str],
    what: &str,
    action: &str,
) -> ServiceResult<account::Model> {
    let account =
        crate::service::directory::accounts::account_for_change(txn, p, account_id, field, what, action, |id| {
            p.account_manager(id)
        })
        .await?;
    if account.platform != Platform::MxOne {
        return Err(ServiceError::reject(
            ErrorCode::PlatformNotSupported,
            field,
            "client profiles belong to Remote Extension, on MX-ONE accounts",
        ));
    }
    Ok(account)
}

/// Adds a client profile to an account.
pub async fn create_profile(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    input: ProfileInput,
) -> ServiceResult<client_profile::Model> {
    let txn = db::begin_write(db).await?;
    let account = managed_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "account",
        "add client profiles to the account",
    )
    .await?;
    let name = validate::name(&["name"], input.name.as_deref().unwrap_or_default(), 64)?;
    let now = Utc::now();
    let model = client_profile::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        name_key: Set(name.to_lowercase()),
        name: Set(name),
        is_default: Set(false),
        allow_users_add_status: Set(input.allow_users_add_status.unwrap_or(true)),
        call_through_allowed: Set(input.call_through_allowed.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(conflict)?;
    outbox::record(&txn, p, event(true, &model)).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Changes a client profile (the default one included); the same values again record nothing.
pub async fn update_profile(
    db: &impl db::Db,
    p: &Principal,
    id: Option<Uuid>,
    input: ProfileInput,
) -> ServiceResult<client_profile::Model> {
    let txn = db::begin_write(db).await?;
    let current = match id {
        Some(id) => client_profile::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    }
    .ok_or_else(|| not_found(&["id"], "client profile"))?;
    managed_account(
        &txn,
        p,
        Some(current.account_id),
        &["id"],
        "client profile",
        "change the account's client profiles",
    )
    .await?;
    let name = match &input.name {
        Some(raw) => validate::name(&["name"], raw, 64)?,
        None => current.name.clone(),
    };
    let allow = input.allow_users_add_status.unwrap_or(current.allow_users_add_status);
    let call_through = input.call_through_allowed.unwrap_or(current.call_through_allowed);
    if name == current.name && allow == current.allow_users_add_status && call_through == current.call_through_allowed {
        return Ok(current);
    }
    let mut am: client_profile::ActiveModel = current.into();
    am.name_key = Set(name.to_lowercase());
    am.name = Set(name);
    am.allow_users_add_status = Set(allow);
    am.call_through_allowed = Set(call_through);
    am.updated_at = Set(Utc::now());
    let model = am.update(&txn).await.map_err(conflict)?;
    outbox::record(&txn, p, event(false, &model)).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Gives a user a client profile of their account (`None`: back to the default), as an admin
/// covering the user.
pub async fn assign_profile(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<Uuid>,
    profile_id: Option<GivenId>,
) -> ServiceResult<client_profile::Model> {
    let txn = db::begin_write(db).await?;
    let o = open_user(
        &txn,
        p,
        cfg,
        user_id,
        &["userId"],
        Actor::Admin,
        ("user", "assign this user's client profile"),
    )
    .await?;
    let wanted = match profile_id {
        Some(id) => id.key(),
        None => Some(o.account.id),
    };
    let profile = match wanted {
        Some(id) => client_profile::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    }
    .filter(|m| m.account_id == o.account.id)
    .ok_or_else(|| not_found(&["clientProfileId"], "client profile"))?;
    let stored = (!profile.is_default).then_some(profile.id);
    if o.remote.client_profile_id == stored {
        return Ok(profile);
    }
    remote_user::ActiveModel {
        user_id: sea_orm::Unchanged(o.user.id),
        client_profile_id: Set(stored),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let e = Event::UserClientProfileChanged(ev::ClientProfileChanged {
        client_profile_id: profile.id,
        previous: o.remote.client_profile_id,
    })
    .about(o.account.id, o.user.id);
    outbox::record(&txn, p, e).await?;
    crate::service::commit(txn).await?;
    Ok(profile)
}
