//! `account_holiday`: one of an account's holidays, which schedule rules skip or keep to.

use sea_orm::entity::prelude::*;

/// One holiday of one account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_holiday")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// The date, `YYYY-MM-DD` (sorts as it reads).
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    /// What the day is called ("Christmas Eve").
    pub name: String,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
