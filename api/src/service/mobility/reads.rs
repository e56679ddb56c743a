//! Mobility reads: the enabled users' list (M11) and the wizard's eligible users, filtered by what
//! the caller manages, one query a page; the notifications; and batch loads for DataLoaders.

use std::collections::HashMap;

use entity::{PhoneProfile, mobility_account, mobility_notification, mobility_user, notification_delivery, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, ExprTrait, FromQueryResult, IdenStatic,
    JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationDef, Select, Value,
    sea_query::{Expr, LikeExpr, Query, UnionType},
};
use uuid::Uuid;

use crate::{
    policy::{Access, Principal, UserVisibility},
    service::{
        extension_claims::CHUNK,
        pagination::{self, Counting, Cursor, Keyset, Page, PageRequest, Shape, Total, like_pattern},
    },
};

/// Per-column filters of the enabled users' list: each a case-insensitive substring.
#[derive(Clone, Debug, Default)]
pub struct MobilityUserFilter {
    /// Part of the name.
    pub name: Option<String>,
    /// Part of the phone number.
    pub phone_number: Option<String>,
    /// Part of the extension.
    pub extension: Option<String>,
    /// Part of the mobility extension.
    pub mobility_extension: Option<String>,
}

fn contains(expr: Expr, text: &str) -> Condition {
    Condition::all().add(expr.like(LikeExpr::new(like_pattern(text)).escape('\\')))
}

fn col(c: impl ColumnTrait) -> Expr {
    Expr::col(c.as_column_ref())
}

fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|s| !s.is_empty())
}

/// `app_user` joined to `mobility_user` (the user's record, if any).
pub(super) fn mobility_join() -> RelationDef {
    mobility_user::Entity::belongs_to(user::Entity)
        .from(mobility_user::Column::UserId)
        .to(user::Column::Id)
        .into()
}

/// The users of `account_id` that `p` manages: all for Support, Decision Makers and account-wide
/// Phone Managers; a location Phone Manager's locations only (M11); a plain user themself.
fn managed(p: &Principal, account_id: Uuid) -> Condition {
    let base = Condition::all().add(user::Column::AccountId.eq(account_id));
    match p.user_visibility(account_id) {
        UserVisibility::All => base,
        UserVisibility::Locations { locations, .. } => base.add(user::Column::LocationId.is_in(locations)),
        UserVisibility::Myself(me) => base.add(user::Column::Id.eq(me)),
        UserVisibility::Nobody => base.add(Expr::val(1).eq(0)),
    }
}

/// The [`Shape`] of [`managed`]'s condition, within `shape`.
fn managed_shape(shape: Shape, p: &Principal, account_id: Uuid) -> Shape {
    let shape = shape.and("account", [account_id.into()]);
    match p.user_visibility(account_id) {
        UserVisibility::All => shape,
        UserVisibility::Locations { locations, .. } => shape.and(
            &format!("locations{}", locations.len()),
            locations.into_iter().map(Value::from),
        ),
        UserVisibility::Myself(me) => shape.and("myself", [me.into()]),
        UserVisibility::Nobody => shape.and("nobody", []),
    }
}

/// The [`Shape`] of [`mobility_users_select`] (and of its count, [`mobility_users_count`],
/// which the same arguments decide).
pub fn mobility_users_shape(
    p: &Principal,
    account_id: Uuid,
    search: Option<&str>,
    filter: &MobilityUserFilter,
) -> Shape {
    managed_shape(Shape::new("MobilityAddon.users"), p, account_id)
        .and_text("search", given(search))
        .and_text("name", given(filter.name.as_deref()))
        .and_text("phone", given(filter.phone_number.as_deref()))
        .and_text("extension", given(filter.extension.as_deref()))
        .and_text("mobility", given(filter.mobility_extension.as_deref()))
}

/// M11: the account's enabled users the caller manages, matching `search` (name, phone number,
/// extension or mobility extension) and every filter, listed by name then id.
///
/// On PostgreSQL the search is written as the ids matching it in either table (a union of two
/// sub-selects), which trigram indexes answer without reading the account's other users; an
/// `OR` across the two joined tables could use no index. SQLite, with no such index, walks the
/// account's users in name order (to the page's end, or to the list's when `totalCount` is
/// asked), so there it stays an `OR`.
pub fn mobility_users_select(
    backend: DbBackend,
    p: &Principal,
    account_id: Uuid,
    search: Option<&str>,
    filter: &MobilityUserFilter,
) -> Select<user::Entity> {
    let mut select = pagination::find::<user::Entity>()
        .join_rev(JoinType::InnerJoin, mobility_join())
        .filter(managed(p, account_id));
    if let Some(s) = given(search) {
        let on_user = Condition::any()
            .add(contains(col(user::Column::SortName), s))
            .add(contains(col(user::Column::PhoneNumber), s))
            .add(contains(col(user::Column::Extension), s));
        let on_mobility = contains(col(mobility_user::Column::MobilityExtension), s);
        select = if backend == DbBackend::Postgres {
            let matching = Query::select()
                .column(user::Column::Id)
                .from(user::Entity)
                .and_where(user::Column::AccountId.eq(account_id))
                .cond_where(on_user)
                .union(
                    UnionType::All,
                    Query::select()
                        .column(mobility_user::Column::UserId)
                        .from(mobility_user::Entity)
                        .and_where(mobility_user::Column::AccountId.eq(account_id))
                        .cond_where(on_mobility)
                        .to_owned(),
                )
                .to_owned();
            // `= ANY(ARRAY(…))`, not `IN (…)`: the matches are gathered once and the page
            // looks each up by id. Under a generic plan (a prepared statement's sixth run)
            // PostgreSQL guesses a pattern's matches at a handful and, for `IN`, walked the
            // account in name order probing a materialised list for every user: 230 ms for a
            // common search where the lookups take 6 ms.
            select.filter(Expr::cust_with_exprs(
                "$1 = ANY(ARRAY $2)",
                [
                    Expr::col((user::Entity, user::Column::Id)),
                    Expr::SubQuery(None, Box::new(matching.into())),
                ],
            ))
        } else {
            select.filter(on_user.add(on_mobility))
        };
    }
    for (column, text) in [
        (col(user::Column::SortName), &filter.name),
        (col(user::Column::PhoneNumber), &filter.phone_number),
        (col(user::Column::Extension), &filter.extension),
        (
            col(mobility_user::Column::MobilityExtension),
            &filter.mobility_extension,
        ),
    ] {
        if let Some(t) = given(text.as_deref()) {
            select = select.filter(contains(column, t));
        }
    }
    select
}

/// One page of [`mobility_users_select`] with each user's mobility record, read in the same
/// statement (the list joins it already). The row is read by position, not by name, and
/// leaves out the user's search text (never shown): decoding the page's rows was the largest
/// part of this read's work in the server.
///
/// With `count` (the caller asks for the list's total), the count comes in the page's
/// statement as well, so the list is one statement:
/// - a searched list's first page, and a filtered one's where [`mobility_users_count`] chooses
///   so, counts the matches it finds for the page by a window, so they are found once instead
///   of once for the page and again for a count;
/// - otherwise the count is a sub-select the database computes once beside the page
///   ([`Total::column`]); only an empty page past a cursor, which carries no count, is counted
///   by a statement of its own.
pub async fn mobility_users_page(
    db: &impl ConnectionTrait,
    select: Select<user::Entity>,
    req: &PageRequest,
    count: Option<Total>,
) -> Result<(Page<(user::Model, mobility_user::Model)>, Option<u64>), DbErr> {
    use mobility_user::Column as M;
    use user::Column as U;
    let select = select
        .select_only()
        .columns([
            U::Id,
            U::AccountId,
            U::LocationId,
            U::Name,
            U::SortName,
            U::Email,
            U::PhoneNumber,
            U::Extension,
            U::PhoneProfile,
            U::CreatedAt,
            U::UpdatedAt,
        ])
        .columns([
            M::UserId,
            M::AccountId,
            M::MobilityExtension,
            M::EnabledAt,
            M::EnabledBy,
            M::UpdatedAt,
        ]);
    let Some(count) = count else {
        let rows = pagination::keyset::<user::Entity, _>(select, req)
            .into_model::<PageRow>()
            .all(db)
            .await?;
        let rows = rows.into_iter().map(|r| (r.0, r.1)).collect();
        return Ok((pagination::assemble(rows, req, |(u, _)| user::Entity::cursor(u)), None));
    };
    let order = [U::SortName.as_str(), U::Id.as_str()];
    let page = count.page(select, req, pagination::TOTAL, order);
    let rows = Counted::find_by_statement(pagination::statement(db, page, req))
        .all(db)
        .await?;
    let total = count.settle(db, rows.first().map(|r| r.1), req).await?;
    let rows: Vec<_> = rows.into_iter().map(|r| (r.0.0, r.0.1)).collect();
    Ok((
        pagination::assemble(rows, req, |(u, _)| user::Entity::cursor(u)),
        Some(total),
    ))
}

/// A row of [`mobility_users_page`], by position: the user's columns but the search text, then
/// the mobility record's.
struct PageRow(user::Model, mobility_user::Model);

/// A [`PageRow`] followed by the list's count.
struct Counted(PageRow, i64);

impl FromQueryResult for Counted {
    fn from_query_result(r: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self(PageRow::from_query_result(r, pre)?, r.try_get_by_index(17)?))
    }
}

impl FromQueryResult for PageRow {
    fn from_query_result(r: &QueryResult, _: &str) -> Result<Self, DbErr> {
        let user = user::Model {
            id: r.try_get_by_index(0)?,
            account_id: r.try_get_by_index(1)?,
            location_id: r.try_get_by_index(2)?,
            name: r.try_get_by_index(3)?,
            sort_name: r.try_get_by_index(4)?,
            email: r.try_get_by_index(5)?,
            phone_number: r.try_get_by_index(6)?,
            extension: r.try_get_by_index(7)?,
            phone_profile: r.try_get_by_index(8)?,
            // Not read: the search haystack is only ever matched in SQL.
            search_text: String::new(),
            created_at: r.try_get_by_index(9)?,
            updated_at: r.try_get_by_index(10)?,
        };
        let mobility = mobility_user::Model {
            user_id: r.try_get_by_index(11)?,
            account_id: r.try_get_by_index(12)?,
            mobility_extension: r.try_get_by_index(13)?,
            enabled_at: r.try_get_by_index(14)?,
            enabled_by: r.try_get_by_index(15)?,
            updated_at: r.try_get_by_index(16)?,
        };
        Ok(Self(user, mobility))
    }
}

/// How to count what [`mobility_users_select`] lists, as cheaply as the question allows: when
/// every enabled user of the account is visible and no user column is searched, from the
/// enabled users' own rows (an index on `(account_id, …)`), without the join.
///
/// How the first page counts (a page past a cursor always counts by a sub-select), as the reads
/// bench measured best:
/// - PostgreSQL, a search or any filter: [`Counting::Gathered`]. Trigram indexes find the
///   matches; sorting them is cheaper than walking the account in name order to find them, and
///   they are found once for the page and the count.
/// - SQLite, a search (with or without filters): [`Counting::Window`]. No index serves it, so
///   the page walks the account in name order and counts every match on the way.
/// - SQLite, the mobility-extension filter without a search: [`Counting::Gathered`]. The
///   account's mobility records are read and only the matching users looked up, where the walk
///   in name order would look up every user's record.
/// - Otherwise (no search or filter, or SQLite's filters on the user's own columns), whoever
///   the caller sees: [`Counting::Apart`], a sub-select; the page stops early in name order.
///   (SQLite's phone-number filter was tried gathered: at 10,000 users it ran at 0.94–1.16 of
///   the floor against 0.65–0.70 walking, but at 100,000 users at 0.61–0.63, where the floor
///   itself walks. Choosing by the account's size is left to do.)
pub fn mobility_users_count(
    backend: DbBackend,
    p: &Principal,
    account_id: Uuid,
    search: Option<&str>,
    filter: &MobilityUserFilter,
) -> Total {
    let searched = given(search).is_some();
    let by_user_column = [&filter.name, &filter.phone_number, &filter.extension]
        .iter()
        .any(|t| given(t.as_deref()).is_some());
    let by_mobility_extension = given(filter.mobility_extension.as_deref()).is_some();
    let on_users = searched || by_user_column || !matches!(p.user_visibility(account_id), UserVisibility::All);
    let rows = if on_users {
        mobility_users_select(backend, p, account_id, search, filter)
            .select_only()
            .column(user::Column::Id)
            .into_query()
    } else {
        let mut select = pagination::find::<mobility_user::Entity>()
            .select_only()
            .column(mobility_user::Column::UserId)
            .filter(mobility_user::Column::AccountId.eq(account_id));
        if let Some(t) = given(filter.mobility_extension.as_deref()) {
            select = select.filter(contains(col(mobility_user::Column::MobilityExtension), t));
        }
        select.into_query()
    };
    let first_page = match backend {
        DbBackend::Postgres if searched || by_user_column || by_mobility_extension => Counting::Gathered,
        _ if searched => Counting::Window,
        _ if by_mobility_extension => Counting::Gathered,
        _ => Counting::Apart,
    };
    Total { rows, first_page }
}

/// The [`Shape`] of [`eligible_users_select`].
pub fn eligible_users_shape(p: &Principal, account_id: Uuid, search: Option<&str>) -> Shape {
    managed_shape(Shape::new("MobilityAddon.eligibleUsers"), p, account_id).and_text("search", given(search))
}

/// The wizard's first step: users the caller manages with an eligible profile who are not
/// enabled yet, matching `search` (name, phone number or extension), by name then id.
pub fn eligible_users_select(p: &Principal, account_id: Uuid, search: Option<&str>) -> Select<user::Entity> {
    let mut select = pagination::find::<user::Entity>()
        .join_rev(JoinType::LeftJoin, mobility_join())
        .filter(managed(p, account_id))
        .filter(mobility_user::Column::UserId.is_null())
        .filter(user::Column::PhoneProfile.is_in([
            PhoneProfile::Essentials,
            PhoneProfile::Premier,
            PhoneProfile::Elite,
        ]));
    if let Some(s) = given(search) {
        select = select.filter(
            Condition::any()
                .add(contains(col(user::Column::SortName), s))
                .add(contains(col(user::Column::PhoneNumber), s))
                .add(contains(col(user::Column::Extension), s)),
        );
    }
    select
}

/// Whether `p` may read the account's notifications and their delivery state: Support, its
/// Decision Makers and account-wide Phone Managers (those who may switch them on, M5).
pub fn may_read_notifications(p: &Principal, account_id: Uuid) -> bool {
    p.account_manager(account_id) == Access::Allowed
}

/// One delivery by id.
pub async fn delivery(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<notification_delivery::Model>, DbErr> {
    notification_delivery::Entity::find_by_id(id).one(db).await
}

/// The account's notifications, newest first.
pub fn notifications_select(account_id: Uuid) -> Select<mobility_notification::Entity> {
    pagination::find::<mobility_notification::Entity>().filter(mobility_notification::Column::AccountId.eq(account_id))
}

/// Notifications by creation time, newest first.
impl Keyset for mobility_notification::Entity {
    fn sort_column() -> Self::Column {
        mobility_notification::Column::SortKey
    }

    fn id_column() -> Self::Column {
        mobility_notification::Column::Id
    }

    fn cursor(row: &Self::Model) -> Cursor {
        Cursor {
            key: row.sort_key.clone(),
            id: row.id,
        }
    }

    const DESCENDING: bool = true;
}

/// The add-on rows of many accounts, in one query (missing: never touched).
pub async fn addons_by_account(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, mobility_account::Model>, DbErr> {
    let rows = pagination::find::<mobility_account::Entity>()
        .filter(mobility_account::Column::AccountId.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.account_id, r)).collect())
}

/// The delivery rows of many notifications, in the order they were queued.
pub async fn deliveries_of(
    db: &impl ConnectionTrait,
    notification_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<notification_delivery::Model>>, DbErr> {
    let mut map: HashMap<Uuid, Vec<notification_delivery::Model>> = HashMap::new();
    for chunk in notification_ids.chunks(CHUNK) {
        let rows = pagination::find::<notification_delivery::Entity>()
            .filter(notification_delivery::Column::NotificationId.is_in(chunk.to_vec()))
            .order_by_asc(notification_delivery::Column::Id)
            .all(db)
            .await?;
        for r in rows {
            map.entry(r.notification_id).or_default().push(r);
        }
    }
    Ok(map)
}

/// Notifications by id, in one query.
pub async fn notifications_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, mobility_notification::Model>, DbErr> {
    let rows = pagination::find::<mobility_notification::Entity>()
        .filter(mobility_notification::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}
