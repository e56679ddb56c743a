//! Voicemail-safe ringing on remote extensions (issue 21 §3): how long the platform waits before
//! ringing a remote extension, how soon an answer is taken for the mobile's own voicemail (too
//! soon), when it gives up on the number (too late), and whether the answer must press a key
//! before the call connects. Every number holds them; they apply while it is a remote
//! extension. Existing numbers get the defaults. `platform_ringing` keeps what the platform last
//! said of a platform number's ringing, so that a sync takes the platform's values only when
//! they change there and an administrator's change in Reach holds meanwhile.

use sea_orm_migration::prelude::*;

/// Adds the four ringing columns, and `platform_ringing`, to `user_number`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserNumber {
    Table,
    RingDelaySeconds,
    AnswerTooSoonMs,
    AnswerTooLateMs,
    RequireKeypress,
    PlatformRinging,
}

/// The columns with their defaults (one statement each: SQLite adds one column at a time).
fn columns() -> [ColumnDef; 5] {
    [
        ColumnDef::new(UserNumber::RingDelaySeconds)
            .integer()
            .not_null()
            .default(0)
            .to_owned(),
        ColumnDef::new(UserNumber::AnswerTooSoonMs)
            .integer()
            .not_null()
            .default(1_500)
            .to_owned(),
        ColumnDef::new(UserNumber::AnswerTooLateMs)
            .integer()
            .not_null()
            .default(19_000)
            .to_owned(),
        ColumnDef::new(UserNumber::RequireKeypress)
            .boolean()
            .not_null()
            .default(false)
            .to_owned(),
        ColumnDef::new(UserNumber::PlatformRinging).text().null().to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(UserNumber::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            UserNumber::RingDelaySeconds,
            UserNumber::AnswerTooSoonMs,
            UserNumber::AnswerTooLateMs,
            UserNumber::RequireKeypress,
            UserNumber::PlatformRinging,
        ] {
            manager
                .alter_table(Table::alter().table(UserNumber::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
