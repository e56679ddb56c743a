//! `MobilitySettings`: the add-on's settings.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::mobility_account;

use super::{Actor, loader};
use crate::graphql::directory::{
    loaders::{AccessNumberKey, load_err},
    types::AccessNumber,
};

/// The add-on's settings (SPEC §3), with a version that grows with every change.
#[derive(Clone, Debug)]
pub struct MobilitySettings(pub mobility_account::Model);

/// The add-on's settings (SPEC §3), with a version that grows with every change.
#[Object]
impl MobilitySettings {
    /// The shared Mobility Router the account is set up on (set by Support).
    async fn mobility_router(&self) -> Option<&str> {
        self.0.mobility_router.as_deref()
    }

    /// The account's group on the Mobility Router (set by Support).
    async fn group_name(&self) -> Option<&str> {
        self.0.group_name.as_deref()
    }

    /// Number the mobile app dials for voicemail.
    async fn voicemail_access_number(&self) -> Option<&str> {
        self.0.voicemail_access_number.as_deref()
    }

    /// The account's access number, one of `Account.accessNumbers`.
    async fn access_number(&self, ctx: &Context<'_>) -> Result<Option<AccessNumber>> {
        match self.0.access_number_id {
            Some(id) => Ok(loader(ctx)?
                .load_one(AccessNumberKey(id))
                .await
                .map_err(load_err)?
                .map(AccessNumber)),
            None => Ok(None),
        }
    }

    /// Reverse-dial number.
    async fn reverse_dial_number(&self) -> Option<&str> {
        self.0.reverse_dial_number.as_deref()
    }

    /// Handover number.
    async fn handover_number(&self) -> Option<&str> {
        self.0.handover_number.as_deref()
    }

    /// Whether settings changes are mailed to the enabled users.
    async fn send_email_notification(&self) -> bool {
        self.0.send_email_notification
    }

    /// Grows by one with every change; give it as `expectedVersion` when changing settings.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// When the add-on last changed (null: never).
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        (self.0.version > 0).then_some(self.0.updated_at)
    }

    /// Who changed it last (null: nobody yet).
    async fn updated_by(&self) -> Option<Actor> {
        self.0.updated_by.clone().map(Actor)
    }
}
