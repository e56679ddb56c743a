//! `MobilityUser`: a user on Connect for Mobile, its connection, and a user's record (the
//! mobility part of `User`).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{mobility_user, user};

use super::{Actor, loader};
use crate::{
    graphql::{
        built,
        common::loader::load_err,
        connection::connection,
        ids::{self, Kind},
        mobility::loaders::MobilityOfUser,
        objects::User,
    },
    service::mobility as service,
};

connection!(
    MobilityUserConnection,
    MobilityUserEdge,
    MobilityUser,
    "A page of users enabled for mobility.",
    "A user enabled for mobility, in a page."
);

/// A user on Connect for Mobile.
#[derive(Clone, Debug)]
pub struct MobilityUser {
    /// The user.
    pub user: user::Model,
    /// Their mobility record.
    pub mobility: mobility_user::Model,
}

impl From<service::Enabled> for MobilityUser {
    fn from(e: service::Enabled) -> Self {
        Self {
            user: e.user,
            mobility: e.mobility,
        }
    }
}

impl MobilityUser {
    /// The fields a page the database builds can show ([`built`]), each as its resolver below
    /// shows it.
    pub(super) fn columns() -> [built::Column; 5] {
        use built::Column;
        use mobility_user::Column as M;
        use user::Column as U;
        [
            Column::id(Kind::MobilityUser, U::Id),
            Column::plain("name", U::Name),
            Column::plain("phoneNumber", U::PhoneNumber),
            Column::plain("extension", U::Extension),
            Column::plain("mobilityExtension", M::MobilityExtension),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(super) const NAMES: built::TypeNames = built::TypeNames {
        connection: "MobilityUserConnection",
        node: "MobilityUser",
    };
}

/// The fields a bulk mutation's list writes straight as JSON ([`built::Listed`]), each as its
/// resolver below answers.
impl built::Writes for MobilityUser {
    const FIELDS: &'static [&'static str] = &[
        "id",
        "name",
        "phoneNumber",
        "extension",
        "mobilityExtension",
        "eligible",
    ];

    fn write(&self, field: usize, out: &mut String) {
        match field {
            0 => built::write_text(&ids::encode(Kind::MobilityUser, self.user.id), out),
            1 => built::write_text(&self.user.name, out),
            2 => built::write_opt_text(self.user.phone_number.as_deref(), out),
            3 => built::write_text(&self.user.extension, out),
            4 => built::write_text(&self.mobility.mobility_extension, out),
            _ => out.push_str(if service::eligible(self.user.phone_profile) {
                "true"
            } else {
                "false"
            }),
        }
    }
}

/// A user on Connect for Mobile: who, and their mobility extension.
#[Object]
impl MobilityUser {
    /// Global id (stable for the user: the same after disabling and enabling again).
    pub async fn id(&self) -> ID {
        ids::encode(Kind::MobilityUser, self.user.id)
    }

    /// The user.
    async fn user(&self) -> User {
        User::new(self.user.clone())
    }

    /// The user's name.
    async fn name(&self) -> &str {
        &self.user.name
    }

    /// The user's phone number.
    async fn phone_number(&self) -> Option<&str> {
        self.user.phone_number.as_deref()
    }

    /// The user's own extension.
    async fn extension(&self) -> &str {
        &self.user.extension
    }

    /// The extension that routes calls to the user's mobile app.
    async fn mobility_extension(&self) -> &str {
        &self.mobility.mobility_extension
    }

    /// When the user was enabled (for a dry run: when it was checked).
    async fn enabled_at(&self) -> DateTime<Utc> {
        self.mobility.enabled_at
    }

    /// Who enabled the user.
    async fn enabled_by(&self) -> Actor {
        Actor(self.mobility.enabled_by.clone())
    }

    /// Whether the user's phone profile still qualifies (Essentials, Premier or Elite); a user
    /// whose profile dropped stays enabled (SPEC M12).
    async fn eligible(&self) -> bool {
        service::eligible(self.user.phone_profile)
    }
}

/// A user's mobility record, through the request's loader.
pub async fn mobility_of(ctx: &Context<'_>, user: &user::Model) -> Result<Option<MobilityUser>> {
    Ok(loader(ctx)?
        .load_one(MobilityOfUser(user.id))
        .await
        .map_err(load_err)?
        .map(|mobility| MobilityUser {
            user: user.clone(),
            mobility,
        }))
}

/// Connect for Mobile's part of `User` ([`objects::User`](crate::graphql::objects::User)).
#[derive(Clone, Debug)]
pub struct UserMobilityFields(pub Arc<user::Model>);

#[Object]
impl UserMobilityFields {
    /// The user's Connect for Mobile record; null when not enabled.
    async fn mobility(&self, ctx: &Context<'_>) -> Result<Option<MobilityUser>> {
        mobility_of(ctx, &self.0).await
    }
}
