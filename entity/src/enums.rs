//! Enumerations shared by several tables, stored as strings.

use sea_orm::entity::prelude::*;

/// The communication platform an account runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Platform {
    /// Hosted MiCloud Connect (Connect for Mobile).
    #[sea_orm(string_value = "MICLOUD_CONNECT")]
    MicloudConnect,
    /// On-premises MiVoice MX-ONE (Remote Extension).
    #[sea_orm(string_value = "MX_ONE")]
    MxOne,
}

/// A user's phone profile tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PhoneProfile {
    /// Basic tier.
    #[sea_orm(string_value = "BASIC")]
    Basic,
    /// Essentials tier.
    #[sea_orm(string_value = "ESSENTIALS")]
    Essentials,
    /// Premier tier.
    #[sea_orm(string_value = "PREMIER")]
    Premier,
    /// Elite tier.
    #[sea_orm(string_value = "ELITE")]
    Elite,
    /// Any other profile.
    #[sea_orm(string_value = "OTHER")]
    Other,
}

/// An administrative role a user may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Role {
    /// Account-wide decision maker.
    #[sea_orm(string_value = "DECISION_MAKER")]
    DecisionMaker,
    /// Phone manager, account-wide or for one location.
    #[sea_orm(string_value = "PHONE_MANAGER")]
    PhoneManager,
}
