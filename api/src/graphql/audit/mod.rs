//! `Account.auditLog` (issue 20): the account's changes from the event log, newest first — who
//! made each, what kind it was, which object it was about and what changed. Like `node`, it
//! reads across the domains (any object can be a change's subject), so it sits beside
//! `node.rs` rather than in one domain's folder.

mod written;

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::event::{Event, Logged};

use super::{
    args::IdArg,
    built::Paged,
    common::loader::{RequestLoader, load_err},
    connection::{self, connection},
    context,
    directory::loaders::UserKey,
    errors::{self, coded},
    ids::{self, Kind},
    node::{self, Node},
    objects::User,
};
use crate::{
    codes::Code,
    service::{audit, directory, pagination::Cursor},
};

macro_rules! kinds {
    ($($variant:ident = $kind:literal,)*) => {
        /// What kind of change an audit entry records: the event's type (`docs/events.md`).
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum AuditEventKind {
            $(#[doc = concat!("`", $kind, "`.")] $variant,)*
        }

        impl AuditEventKind {
            /// Every kind, in the schema's order.
            pub const ALL: &[Self] = &[$(Self::$variant,)*];

            /// The event type it stands for, as stored.
            pub fn event_type(self) -> &'static str {
                match self {
                    $(Self::$variant => $kind,)*
                }
            }

            /// The kind of `event`.
            pub fn of(event: &Event) -> Self {
                match event {
                    $(Event::$variant(_) => Self::$variant,)*
                }
            }
        }
    };
}

kinds! {
    AccountCreated = "account.created",
    AccountUpdated = "account.updated",
    LocationCreated = "location.created",
    AccessNumberCreated = "access_number.created",
    RoleAssigned = "role.assigned",
    RoleRevoked = "role.revoked",
    UserCreated = "user.created",
    UserUpdated = "user.updated",
    UserClientProfileChanged = "user.client_profile_changed",
    ActiveStatusChanged = "active_status.changed",
    DynamicStatusCreated = "dynamic_status.created",
    DynamicStatusUpdated = "dynamic_status.updated",
    DynamicStatusDeleted = "dynamic_status.deleted",
    UserNumberCreated = "user_number.created",
    UserNumberUpdated = "user_number.updated",
    UserNumberDeleted = "user_number.deleted",
    ClientProfileCreated = "client_profile.created",
    ClientProfileUpdated = "client_profile.updated",
    PlatformConnectionSet = "platform_connection.set",
    PlatformSyncRunCreated = "platform_sync_run.created",
    PlatformSyncRunUpdated = "platform_sync_run.updated",
    MobilityActivationRequested = "mobility.activation_requested",
    MobilityActivationCompleted = "mobility.activation_completed",
    MobilitySettingsUpdated = "mobility.settings_updated",
    MobilityEmailNotificationChanged = "mobility.email_notification_changed",
    MobilityDeactivated = "mobility.deactivated",
    MobilityNotificationQueued = "mobility.notification_queued",
    MobilityUserEnabled = "mobility.user_enabled",
    MobilityUserUpdated = "mobility.user_updated",
    MobilityUserDisabled = "mobility.user_disabled",
    NotificationRetryRequested = "notification.retry_requested",
    WebhookEndpointCreated = "webhook_endpoint.created",
    WebhookEndpointUpdated = "webhook_endpoint.updated",
    WebhookEndpointDeleted = "webhook_endpoint.deleted",
    WebhookEndpointSecretRotated = "webhook_endpoint.secret_rotated",
}

/// Who made a change.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::audit::ActorKind")]
pub enum AuditActorKind {
    /// A user of the account.
    User,
    /// Support staff of the service provider.
    Support,
    /// Reach itself: the platform sync, its schedule, the records it keeps for MX-ONE users.
    System,
}

/// Who made a change, as the audit log shows it.
#[derive(Clone, Debug)]
pub struct AuditActor(String);

/// Who made a change: a user of the account, Support, or Reach itself.
#[Object]
impl AuditActor {
    /// A user, Support, or Reach itself.
    async fn kind(&self) -> AuditActorKind {
        audit::actor(&self.0).0.into()
    }

    /// The user's name where the caller may see the user (else "an administrator"), the Support
    /// name, or what part of Reach it was (`platform-sync`, `schedule`, `reach`).
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        match audit::actor(&self.0).1 {
            Err(name) => Ok(name.to_owned()),
            Ok(_) => Ok(self
                .user(ctx)
                .await?
                .map_or_else(|| "an administrator".to_owned(), |u| u.model().name.clone())),
        }
    }

    /// The user, where it is one the caller may see.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Ok(id) = audit::actor(&self.0).1 else {
            return Ok(None);
        };
        let p = context::principal(ctx)?;
        Ok((ctx.data::<RequestLoader>()?.load_one(UserKey(id)).await)
            .map_err(load_err)?
            .filter(|u| p.sees_user(directory::scope(u)))
            .map(User::new))
    }
}

/// One changed field, as people read it.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditChange {
    /// The field's API name, e.g. `extension`.
    pub field: String,
    /// The value before (null for what the change created).
    pub old_value: Option<String>,
    /// The value after (null for what the change removed).
    pub new_value: Option<String>,
}

/// The global-id kind of the objects of an aggregate type (`outbox_event.aggregate_type`; the
/// add-on's, `Mobility`, is its account).
fn kind_of(aggregate_type: &str) -> Option<Kind> {
    Some(match aggregate_type {
        "Account" | "Mobility" => Kind::Account,
        "Location" => Kind::Location,
        "AccessNumber" => Kind::AccessNumber,
        "RoleAssignment" => Kind::RoleAssignment,
        "User" => Kind::User,
        "DynamicStatus" => Kind::DynamicStatus,
        "UserNumber" => Kind::UserNumber,
        "ClientProfile" => Kind::ClientProfile,
        "PlatformSyncRun" => Kind::PlatformSyncRun,
        "MobilityNotification" => Kind::MobilityNotification,
        "MobilityUser" => Kind::MobilityUser,
        "WebhookEndpoint" => Kind::WebhookEndpoint,
        _ => return None,
    })
}

/// The global-id kind of an event's object (every aggregate type has one: a test checks).
fn subject_kind(event: &Event) -> Kind {
    kind_of(event.aggregate_type()).unwrap_or(Kind::Account)
}

/// The aggregate types whose objects have global ids of `kind` (none for a kind no event is
/// about).
fn aggregate_types(kind: Kind) -> Vec<&'static str> {
    let mut types: Vec<&'static str> = (entity::event::AGGREGATE_TYPES.iter().copied())
        .filter(|t| kind_of(t) == Some(kind))
        .collect();
    types.sort_unstable();
    types.dedup();
    types
}

/// The global id of an event's object (the add-on's is its account's).
pub(crate) fn subject_id(event: &Event, key: uuid::Uuid) -> ID {
    ids::encode(subject_kind(event), key)
}

/// One change of the account, from the event log.
#[derive(Clone, Debug)]
pub struct AuditEntry(Arc<Logged>);

/// One change of an account: when, who, what kind, about which object, and what changed.
#[Object]
impl AuditEntry {
    /// The event's id: stable, and the `webhook-id` of its webhook deliveries.
    async fn event_id(&self) -> String {
        self.0.id.to_string()
    }

    /// When the change was committed (recorded just before the commit).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// Who made it.
    async fn actor(&self) -> AuditActor {
        AuditActor(self.0.actor.clone())
    }

    /// What kind of change it was.
    async fn kind(&self) -> AuditEventKind {
        AuditEventKind::of(&self.0.event)
    }

    /// The kind of object it was about, e.g. `User`, `DynamicStatus`; `Mobility` is the
    /// account's Connect for Mobile add-on.
    async fn subject_type(&self) -> &'static str {
        self.0.event.aggregate_type()
    }

    /// The object's global id (the add-on's is its account's); it may name an object since
    /// removed.
    async fn subject_id(&self) -> ID {
        subject_id(&self.0.event, self.0.aggregate_id)
    }

    /// The object as it is now, where it still exists and the caller may see it.
    async fn subject(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
        node::resolve(ctx, &subject_id(&self.0.event, self.0.aggregate_id)).await
    }

    /// What changed: old → new for an update, each field's value for what was created (no old
    /// value) or removed (no new value), nothing for the rest (`data` tells).
    async fn changes(&self) -> Vec<AuditChange> {
        (audit::changes(&self.0.event).into_iter())
            .map(|c| AuditChange {
                field: c.field,
                old_value: c.old,
                new_value: c.new,
            })
            .collect()
    }

    /// The event's data as JSON text (`docs/events.md`), with any secret redacted.
    async fn data(&self) -> String {
        audit::redacted(&self.0.event.payload()).to_string()
    }
}

connection!(
    AuditEntryConnection,
    AuditEntryEdge,
    AuditEntry,
    "A page of an account's audit log, newest first.",
    "An audit entry in a page."
);

/// Which entries of the audit log to list; every filter given must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct AuditLogFilter {
    /// Changes made by this user (a user's id).
    pub actor_id: Option<IdArg>,
    /// Changes of these kinds (empty or left out: any).
    pub kinds: Option<Vec<AuditEventKind>>,
    /// Changes about this object; a user's id also finds the changes about what is the user's
    /// (numbers, statuses, roles, Connect for Mobile record).
    pub subject_id: Option<IdArg>,
    /// Changes made at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Changes made before this time.
    pub until: Option<DateTime<Utc>>,
}

impl AuditLogFilter {
    /// The service's filter; an id that is not one of ours is a bad request.
    fn read(self) -> Result<audit::Filter> {
        let actor = match self.actor_id {
            Some(id) => Some(
                ids::decode_as(&id, Kind::User)
                    .map(|user| format!("user:{user}"))
                    .ok_or_else(|| coded(Code::BadRequest, "`actorId` is not a user's id"))?,
            ),
            None => None,
        };
        let subject = match self.subject_id {
            Some(id) => Some(
                match ids::decode(&id).ok_or_else(|| coded(Code::BadRequest, "`subjectId` is not an id"))? {
                    (Kind::User, user) => audit::Subject::User(user),
                    (kind, key) => audit::Subject::Object {
                        key,
                        types: aggregate_types(kind),
                    },
                },
            ),
            None => None,
        };
        Ok(audit::Filter {
            actor,
            kinds: (self.kinds.unwrap_or_default().into_iter())
                .map(|k| k.event_type().to_owned())
                .collect(),
            subject,
            since: self.since,
            until: self.until,
        })
    }
}

/// The audit log's part of `Account` ([`objects::Account`](crate::graphql::objects::Account)).
#[derive(Clone, Debug)]
pub struct AccountAuditFields(pub Arc<entity::account::Model>);

#[Object]
impl AccountAuditFields {
    /// The account's changes, newest first: readable by Support, the account's Decision Makers
    /// and account-wide Phone Managers; a location Phone Manager reads the changes about users
    /// of their locations (and what is theirs); null for other callers.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Entries from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Entries before the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which entries to list.")] filter: Option<AuditLogFilter>,
    ) -> Result<Option<Paged<AuditEntryConnection>>> {
        let p = context::principal(ctx)?;
        let Some(scope) = audit::scope(p, self.0.id) else {
            return Ok(None);
        };
        let req = connection::page_request(first, after, last, before)?;
        let filter = filter.unwrap_or_default().read()?;
        let db = context::db(ctx)?;
        if !actor_seen(ctx, &scope, &filter).await? {
            return Ok(Some(Paged::Resolved(AuditEntryConnection {
                edges: Vec::new(),
                page_info: connection::PageInfo::default(),
                total_count: connection::wants_total(ctx).then_some(0),
            })));
        }
        let (scope, account) = (&scope, self.0.id);
        let place = |name: &'static str, cursor: Option<Cursor>| async move {
            let Some(cursor) = cursor else {
                return Ok(None);
            };
            let found = audit::mark(db, account, scope, cursor.id).await.map_err(errors::db)?;
            match found {
                Some(mark) if cursor.key.is_empty() => Ok(Some(mark)),
                _ => Err(coded(
                    Code::BadRequest,
                    format!("`{name}` is not a cursor of this audit log (its entry may have been pruned)"),
                )),
            }
        };
        let places = audit::Places {
            after: place("after", req.after.clone()).await?,
            before: place("before", req.before.clone()).await?,
        };
        let page = audit::page(db, account, scope, &filter, &req, places)
            .await
            .map_err(errors::db)?;
        let total = if connection::wants_total(ctx) {
            Some(audit::count(db, account, scope, &filter).await.map_err(errors::db)?)
        } else {
            None
        };
        if let Some(plan) = written::plan(ctx) {
            let names = match plan.names_actors() {
                true => actor_names(ctx, &page).await?,
                false => HashMap::new(),
            };
            let value = (plan.write(&page, total.unwrap_or_default(), &names)).map_err(|e| errors::internal(&e))?;
            return Ok(Some(Paged::Built(value)));
        }
        let edges: Vec<AuditEntryEdge> = (page.entries.into_iter())
            .map(|(cursor, entry)| AuditEntryEdge {
                cursor: cursor.encode(),
                node: AuditEntry(Arc::new(entry)),
            })
            .collect();
        Ok(Some(Paged::Resolved(AuditEntryConnection {
            edges,
            page_info: connection::PageInfo {
                has_next_page: page.has_next_page,
                has_previous_page: page.has_previous_page,
                start_cursor: page.start.map(|c| c.encode()),
                end_cursor: page.end.map(|c| c.encode()),
            },
            total_count: total,
        })))
    }
}

/// The names of the users who made the entries of `page`, of those the caller may see (the
/// others show as "an administrator"), loaded in one batch.
async fn actor_names(ctx: &Context<'_>, page: &audit::AuditPage) -> Result<HashMap<uuid::Uuid, String>> {
    let p = context::principal(ctx)?;
    let users = (page.entries.iter()).filter_map(|(_, logged)| audit::actor(&logged.actor).1.ok().map(UserKey));
    let loaded = (ctx.data::<RequestLoader>()?.load_many(users).await).map_err(load_err)?;
    Ok((loaded.into_iter())
        .filter(|(_, u)| p.sees_user(directory::scope(u)))
        .map(|(UserKey(id), u)| (id, u.name))
        .collect())
}

/// Whether the `actorId` filter names a user the caller may see: a location Phone Manager who
/// filters by an administrator they cannot see learns nothing of that person's changes (their
/// entries show the actor as "an administrator").
async fn actor_seen(ctx: &Context<'_>, scope: &audit::Scope, filter: &audit::Filter) -> Result<bool> {
    let (audit::Scope::Locations(_), Some(actor)) = (scope, &filter.actor) else {
        return Ok(true);
    };
    let Ok(id) = audit::actor(actor).1 else {
        return Ok(true);
    };
    let p = context::principal(ctx)?;
    Ok((ctx.data::<RequestLoader>()?.load_one(UserKey(id)).await)
        .map_err(load_err)?
        .is_some_and(|u| p.sees_user(directory::scope(&u))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aggregate_type_has_a_kind_and_back() {
        for aggregate in entity::event::AGGREGATE_TYPES {
            let kind = kind_of(aggregate).unwrap_or_else(|| panic!("{aggregate} has no kind"));
            assert!(aggregate_types(kind).contains(aggregate), "{aggregate}");
        }
        assert_eq!(aggregate_types(Kind::Account), ["Account", "Mobility"]);
        assert_eq!(aggregate_types(Kind::MobilityUser), ["MobilityUser"]);
    }

    #[test]
    fn every_event_type_has_its_kind() {
        let named: Vec<&str> = AuditEventKind::ALL.iter().map(|k| k.event_type()).collect();
        assert_eq!(named, entity::event::KINDS);
    }
}
