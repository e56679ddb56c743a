//! Connect for Mobile mutations (SPEC §3): each takes one `input` and answers a payload with the
//! changed object and `userErrors`.

use async_graphql::{Context, ID, InputObject, Object, Result};

mod payloads;

use payloads::addon_payload;
pub use payloads::{
    MobilityActivatePayload, MobilityActivationCompletePayload, MobilityDeactivatePayload,
    MobilityEmailNotificationSetPayload, MobilitySettingsUpdatePayload, MobilityUserUpdatePayload,
    MobilityUsersDisablePayload, MobilityUsersEnablePayload,
};

use crate::{
    graphql::built::Listed,
    graphql::{
        context,
        errors::payload,
        guard,
        ids::{self, Kind},
        objects::User,
    },
    service::mobility::{self as service, Activation, EnableRow, SettingsChanges},
    state::AppState,
};

/// Input of `mobilityActivate`.
#[derive(InputObject)]
pub struct MobilityActivateInput {
    /// The account.
    pub account_id: ID,
    /// Must be true: the buyer confirms the purchase of the add-on.
    pub confirm_purchase: bool,
    /// Voicemail access number (3–15 digits); `Mobility.defaults` suggests one.
    pub voicemail_access_number: String,
    /// One of the account's access numbers.
    pub access_number_id: ID,
    /// Reverse-dial number (10–15 digits); the configured default where left out. A number
    /// stored by an earlier activation is kept.
    pub reverse_dial_number: Option<String>,
    /// Handover number (10–15 digits); the configured default where left out. A number stored by
    /// an earlier activation is kept.
    pub handover_number: Option<String>,
    /// The dialog's "Send email notification" checkbox: whether settings changes are emailed to
    /// the users enabled for mobility (SPEC M6). Left out, the stored value stays (off for an
    /// account never activated).
    pub send_email_notification: Option<bool>,
}

/// Input of `mobilityActivationComplete`.
#[derive(InputObject)]
pub struct MobilityActivationCompleteInput {
    /// The account.
    pub account_id: ID,
    /// The Mobility Router the account is set up on (trimmed, 1–64 characters).
    pub mobility_router: String,
    /// The account's group on the router (trimmed, 1–64 characters).
    pub group_name: String,
}

/// Input of `mobilitySettingsUpdate`: settings left out stay as they are.
#[derive(InputObject)]
pub struct MobilitySettingsUpdateInput {
    /// The account.
    pub account_id: ID,
    /// The `version` of the settings the change is based on.
    pub expected_version: i64,
    /// New Mobility Router (trimmed, 1–64 characters).
    pub mobility_router: Option<String>,
    /// New group name (trimmed, 1–64 characters).
    pub group_name: Option<String>,
    /// New voicemail access number (3–15 digits).
    pub voicemail_access_number: Option<String>,
    /// New access number: one of the account's.
    pub access_number_id: Option<ID>,
    /// New reverse-dial number (10–15 digits).
    pub reverse_dial_number: Option<String>,
    /// New handover number (10–15 digits).
    pub handover_number: Option<String>,
}

/// Input of `mobilityEmailNotificationSet`.
#[derive(InputObject)]
pub struct MobilityEmailNotificationSetInput {
    /// The account.
    pub account_id: ID,
    /// Whether settings changes are mailed to the enabled users.
    pub enabled: bool,
}

/// Input of `mobilityDeactivate`.
#[derive(InputObject)]
pub struct MobilityDeactivateInput {
    /// The account.
    pub account_id: ID,
}

/// One user to enable and their mobility extension.
#[derive(InputObject)]
pub struct MobilityUserInput {
    /// The user.
    pub user_id: ID,
    /// Digits: the account's `extensionLength` where set, else 3–15; unused in the account.
    pub mobility_extension: String,
}

/// Input of `mobilityUsersEnable`.
#[derive(InputObject)]
pub struct MobilityUsersEnableInput {
    /// The account.
    pub account_id: ID,
    /// The users (1–1000): all or none are enabled.
    pub users: Vec<MobilityUserInput>,
    /// Check and answer what would happen, writing nothing (the wizard's summary step).
    #[graphql(default = false)]
    pub dry_run: bool,
}

/// Input of `mobilityUserUpdate`.
#[derive(InputObject)]
pub struct MobilityUserUpdateInput {
    /// The user (enabled for mobility).
    pub user_id: ID,
    /// The new mobility extension.
    pub mobility_extension: String,
}

/// Input of `mobilityUsersDisable`.
#[derive(InputObject)]
pub struct MobilityUsersDisableInput {
    /// The account.
    pub account_id: ID,
    /// The users (1–1000): all or none are disabled.
    pub user_ids: Vec<ID>,
}

fn account(id: &ID) -> Option<uuid::Uuid> {
    ids::decode_as(id, Kind::Account)
}

fn user(id: &ID) -> Option<uuid::Uuid> {
    ids::decode_as(id, Kind::User)
}

/// Connect for Mobile mutations.
#[derive(Default)]
pub struct MobilityMutation;

#[Object]
impl MobilityMutation {
    /// Buys the Connect for Mobile add-on (Support, a Decision Maker or an account-wide Phone
    /// Manager): `NOT_ACTIVATED` → `PENDING_SUPPORT` (SPEC M1, M2).
    async fn mobility_activate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The purchase and the first settings.")] input: MobilityActivateInput,
    ) -> Result<MobilityActivatePayload> {
        let guard = guard::check(&input);
        let defaults = &ctx.data::<AppState>()?.settings.mobility;
        let activation = Activation {
            confirm_purchase: input.confirm_purchase,
            voicemail_access_number: input.voicemail_access_number,
            access_number_id: ids::decode_as(&input.access_number_id, Kind::AccessNumber),
            reverse_dial_number: input.reverse_dial_number,
            handover_number: input.handover_number,
            send_email_notification: input.send_email_notification,
        };
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        addon_payload(
            guard
                .run(service::activate(
                    db,
                    p,
                    defaults,
                    account(&input.account_id),
                    activation,
                ))
                .await,
        )
        .map(|(mobility, user_errors)| MobilityActivatePayload { mobility, user_errors })
    }

    /// Support finishes the set-up on the Mobility Router: `PENDING_SUPPORT` → `ACTIVE` (SPEC M3).
    async fn mobility_activation_complete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The router and group.")] input: MobilityActivationCompleteInput,
    ) -> Result<MobilityActivationCompletePayload> {
        let guard = guard::check(&input);
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let id = account(&input.account_id);
        addon_payload(
            guard
                .run(service::complete_activation(
                    db,
                    p,
                    id,
                    &input.mobility_router,
                    &input.group_name,
                ))
                .await,
        )
        .map(|(mobility, user_errors)| MobilityActivationCompletePayload { mobility, user_errors })
    }

    /// Changes the add-on's settings after activation (Support only), naming the version read
    /// (SPEC M4). With email notification on, a change queues one notification (M6).
    async fn mobility_settings_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: MobilitySettingsUpdateInput,
    ) -> Result<MobilitySettingsUpdatePayload> {
        let guard = guard::check(&input);
        let changes = SettingsChanges {
            expected_version: input.expected_version,
            mobility_router: input.mobility_router,
            group_name: input.group_name,
            voicemail_access_number: input.voicemail_access_number,
            access_number_id: input.access_number_id.map(|id| ids::given(&id, Kind::AccessNumber)),
            reverse_dial_number: input.reverse_dial_number,
            handover_number: input.handover_number,
        };
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        addon_payload(
            guard
                .run(service::update_settings(db, p, account(&input.account_id), changes))
                .await,
        )
        .map(|(mobility, user_errors)| MobilitySettingsUpdatePayload { mobility, user_errors })
    }

    /// Switches settings-change emails on or off (Support, a Decision Maker or an account-wide
    /// Phone Manager); sends nothing by itself (SPEC M5).
    async fn mobility_email_notification_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The flag.")] input: MobilityEmailNotificationSetInput,
    ) -> Result<MobilityEmailNotificationSetPayload> {
        let guard = guard::check(&input);
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        addon_payload(
            guard
                .run(service::set_email_notification(
                    db,
                    p,
                    account(&input.account_id),
                    input.enabled,
                ))
                .await,
        )
        .map(|(mobility, user_errors)| MobilityEmailNotificationSetPayload { mobility, user_errors })
    }

    /// Takes the add-on back to `NOT_ACTIVATED` (Support only, once no user is enabled).
    async fn mobility_deactivate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] input: MobilityDeactivateInput,
    ) -> Result<MobilityDeactivatePayload> {
        let guard = guard::check(&input);
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        addon_payload(guard.run(service::deactivate(db, p, account(&input.account_id))).await)
            .map(|(mobility, user_errors)| MobilityDeactivatePayload { mobility, user_errors })
    }

    /// Enables users for mobility with their extensions, all or none (SPEC M7, M8); with
    /// `dryRun` it only checks and answers what it would do.
    async fn mobility_users_enable(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The users and their extensions.")] input: MobilityUsersEnableInput,
    ) -> Result<MobilityUsersEnablePayload> {
        let guard = guard::check(&input);
        let rows = input
            .users
            .iter()
            .map(|r| EnableRow {
                user_id: user(&r.user_id),
                mobility_extension: r.mobility_extension.clone(),
            })
            .collect();
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let result = guard
            .run(service::enable_users(
                db,
                p,
                account(&input.account_id),
                rows,
                input.dry_run,
            ))
            .await;
        let (enabled, user_errors) = payload(result)?;
        Ok(MobilityUsersEnablePayload {
            mobility_users: Listed(enabled.unwrap_or_default().into_iter().map(Into::into).collect()),
            dry_run: input.dry_run,
            user_errors,
        })
    }

    /// Gives an enabled user another mobility extension (SPEC M9).
    async fn mobility_user_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the new extension.")] input: MobilityUserUpdateInput,
    ) -> Result<MobilityUserUpdatePayload> {
        let guard = guard::check(&input);
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let result = guard
            .run(service::update_user_extension(
                db,
                p,
                user(&input.user_id),
                &input.mobility_extension,
            ))
            .await;
        let (enabled, user_errors) = payload(result)?;
        Ok(MobilityUserUpdatePayload {
            mobility_user: enabled.map(Into::into),
            user_errors,
        })
    }

    /// Takes users off mobility, all or none; their extensions are free at once (SPEC M10).
    async fn mobility_users_disable(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The users.")] input: MobilityUsersDisableInput,
    ) -> Result<MobilityUsersDisablePayload> {
        let guard = guard::check(&input);
        let ids = input.user_ids.iter().map(user).collect();
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let (users, user_errors) = payload(
            guard
                .run(service::disable_users(db, p, account(&input.account_id), ids))
                .await,
        )?;
        Ok(MobilityUsersDisablePayload {
            users: users.unwrap_or_default().into_iter().map(User::new).collect(),
            user_errors,
        })
    }
}
