//! The invariants `remote::props` checks after every step, computed from the raw rows alone (not
//! with the service's own definitions): the case's rows, the API's view of the three users, and
//! the checks of a state and of a step (see `remote::props` for the rules).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};

use api::graphql::ids::Kind;
use entity::{NumberOrigin, TargetKind, client_profile, dynamic_status, remote_user, user_number};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::app::*;

/// One case's account: three users, their tokens, the Decision Maker's, a second profile.
pub struct Case {
    pub k: usize,
    pub account: Uuid,
    pub users: [Uuid; 3],
    pub tokens: [String; 3],
    pub dm: String,
    pub strict: Uuid,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    pub numbers: Vec<user_number::Model>,
    pub statuses: Vec<dynamic_status::Model>,
    pub remotes: Vec<remote_user::Model>,
    pub profiles: Vec<client_profile::Model>,
}

pub async fn of_account<E: EntityTrait>(app: &TestApp, column: E::Column, order: E::Column, id: Uuid) -> Vec<E::Model> {
    E::find()
        .filter(column.eq(id))
        .order_by_asc(order)
        .all(&app.state.db)
        .await
        .unwrap()
}

pub async fn rows(app: &TestApp, a: Uuid) -> Rows {
    use entity::{client_profile as cp, dynamic_status as ds, remote_user as ru, user_number as un};
    Rows {
        numbers: of_account::<un::Entity>(app, un::Column::AccountId, un::Column::Id, a).await,
        statuses: of_account::<ds::Entity>(app, ds::Column::AccountId, ds::Column::Id, a).await,
        remotes: of_account::<ru::Entity>(app, ru::Column::AccountId, ru::Column::UserId, a).await,
        profiles: of_account::<cp::Entity>(app, cp::Column::AccountId, cp::Column::Id, a).await,
    }
}

/// Every number a status points at: its remote extension and the four routing targets.
pub fn refs(s: &dynamic_status::Model) -> [Option<Uuid>; 5] {
    let t = (s.call_using_number_id, s.send_calls_to_number_id, s.when_busy_number_id);
    [s.remote_extension_id, t.0, t.1, t.2, s.if_no_answer_number_id]
}

impl Rows {
    pub fn numbers_of(&self, user: Uuid) -> impl Iterator<Item = &user_number::Model> {
        self.numbers.iter().filter(move |n| n.user_id == user)
    }
    pub fn number(&self, id: Uuid) -> Option<&user_number::Model> {
        self.numbers.iter().find(|n| n.id == id)
    }
    pub fn remote(&self, user: Uuid) -> Option<&remote_user::Model> {
        self.remotes.iter().find(|r| r.user_id == user)
    }
    pub fn active(&self, user: Uuid) -> Option<Uuid> {
        self.remote(user)?.active_status_id
    }
    /// R9: the remote extension of the active status.
    pub fn active_re(&self, user: Uuid) -> Option<Uuid> {
        let active = self.active(user)?;
        self.statuses.iter().find(|s| s.id == active)?.remote_extension_id
    }
    /// The user's profile (theirs, else the account's default) allows call through.
    pub fn allows(&self, user: Uuid) -> bool {
        let profile = match self.remote(user).and_then(|r| r.client_profile_id) {
            Some(id) => self.profiles.iter().find(|p| p.id == id),
            None => self.profiles.iter().find(|p| p.is_default),
        };
        profile.expect("the user's client profile exists").call_through_allowed
    }
    /// R5, from the rows.
    pub fn lock_reasons(&self, n: &user_number::Model) -> BTreeSet<&'static str> {
        let mut reasons = BTreeSet::new();
        if n.origin != NumberOrigin::User {
            reasons.insert("PROVISIONED");
        }
        if self
            .statuses
            .iter()
            .any(|s| s.user_id == n.user_id && refs(s).contains(&Some(n.id)))
        {
            reasons.insert("USED_BY_STATUS");
        }
        if self.active_re(n.user_id) == Some(n.id) {
            reasons.insert("ACTIVE_REMOTE_EXTENSION");
        }
        reasons
    }
    /// R6: used by a status or the active remote extension.
    pub fn in_use(&self, n: &user_number::Model) -> bool {
        self.lock_reasons(n).iter().any(|r| *r != "PROVISIONED")
    }
}

pub const READ: &str = "query($a: ID!, $b: ID!, $c: ID!) {
  a: node(id: $a) { ...U } b: node(id: $b) { ...U } c: node(id: $c) { ...U } }
fragment U on User {
  activeStatus { id } activeRemoteExtension { id } dynamicStatuses { id isActive remoteExtension { id } }
  numbers(first: 20) { nodes { id number isRemoteExtension callThrough callThroughEffective
    callThroughInactiveReason locked lockReasons } } }";

/// The three users as the Decision Maker reads them.
pub async fn read(app: &TestApp, case: &Case) -> [Value; 3] {
    let [a, b, c] = case.users.map(|u| gid(Kind::User, u));
    let body = app.gql(&case.dm, READ, json!({ "a": a, "b": b, "c": c })).await;
    assert!(body["errors"].is_null(), "{body}");
    ["a", "b", "c"].map(|k| body["data"][k].clone())
}

pub fn sorted_by_id(list: &Value) -> Vec<Value> {
    let mut list = list.as_array().unwrap().clone();
    list.sort_by_key(|v| v["id"].as_str().unwrap().to_owned());
    list
}

pub fn id_obj(kind: Kind, id: Option<Uuid>) -> Value {
    id.map_or(Value::Null, |id| json!({ "id": gid(kind, id) }))
}

/// The state invariants: the API shows what the rows define, and the rows hold R4, R7, R9, R11.
pub fn check_state(rows: &Rows, api: &[Value; 3], users: &[Uuid; 3], ctx: &str) {
    for (&user, view) in users.iter().zip(api) {
        let statuses: Vec<_> = rows.statuses.iter().filter(|s| s.user_id == user).collect();
        let active = rows.active(user);
        let own_active = statuses.iter().any(|s| Some(s.id) == active);
        assert!(
            statuses.is_empty() || own_active,
            "{ctx}: R9 {user} has no active status of their own"
        );
        let (active_re, allows) = (rows.active_re(user), rows.allows(user));
        let mut expected_statuses: Vec<Value> = statuses
            .iter()
            .map(|s| {
                let re = id_obj(Kind::UserNumber, s.remote_extension_id);
                json!({ "id": gid(Kind::DynamicStatus, s.id), "isActive": Some(s.id) == active, "remoteExtension": re })
            })
            .collect();
        expected_statuses.sort_by_key(|v| v["id"].as_str().unwrap().to_owned());
        let mut expected_numbers = Vec::new();
        let mut shown_numbers = sorted_by_id(&view["numbers"]["nodes"]);
        for n in rows.numbers_of(user) {
            assert!(!n.call_through || n.is_remote_extension, "{ctx}: R11 {n:?}");
            let reasons = rows.lock_reasons(n);
            let is_active_re = active_re == Some(n.id);
            let effective = n.is_remote_extension && n.call_through && allows && is_active_re;
            expected_numbers.push(json!({
                "id": gid(Kind::UserNumber, n.id), "number": n.number, "isRemoteExtension": n.is_remote_extension,
                "callThrough": n.call_through, "callThroughEffective": effective, "locked": !reasons.is_empty(),
                "lockReasons": reasons,
            }));
            let id = json!(gid(Kind::UserNumber, n.id));
            let Some(shown) = shown_numbers.iter_mut().find(|v| v["id"] == id) else {
                continue;
            };
            let holds = match shown["callThroughInactiveReason"].take().as_str() {
                None => effective,
                Some("NOT_REMOTE_EXTENSION") => !n.is_remote_extension,
                Some("DISABLED") => !n.call_through,
                Some("NOT_ALLOWED_BY_PROFILE") => !allows,
                Some("NOT_IN_ACTIVE_STATUS") => !is_active_re,
                Some(other) => panic!("{ctx}: unknown reason {other}"),
            };
            assert!(holds, "{ctx}: R11 wrong inactive reason for {n:?}");
            let mut reasons: Vec<Value> = shown["lockReasons"].as_array().unwrap().clone();
            reasons.sort_by_key(|r| r.as_str().unwrap().to_owned());
            shown["lockReasons"] = json!(reasons);
            shown.as_object_mut().unwrap().remove("callThroughInactiveReason");
        }
        expected_numbers.sort_by_key(|v| v["id"].as_str().unwrap().to_owned());
        let expected = json!({
            "activeStatus": id_obj(Kind::DynamicStatus, active),
            "activeRemoteExtension": id_obj(Kind::UserNumber, active_re),
            "dynamicStatuses": expected_statuses,
            "numbers": expected_numbers,
        });
        let shown = json!({
            "activeStatus": view["activeStatus"], "activeRemoteExtension": view["activeRemoteExtension"],
            "dynamicStatuses": sorted_by_id(&view["dynamicStatuses"]), "numbers": shown_numbers,
        });
        assert_eq!(
            shown, expected,
            "{ctx}: R5/R9/R11 the API for user {user} (profile allows call through: {allows})"
        );
        // R7: the user's own numbers; the remote extension and a `callUsing` number are remote
        // extensions; a NUMBER target names a number and no other kind does.
        let own = |id: &Option<Uuid>| id.is_none_or(|id| rows.number(id).is_some_and(|n| n.user_id == user));
        let re = |id: Option<Uuid>| id.is_none_or(|id| rows.number(id).is_some_and(|n| n.is_remote_extension));
        for s in statuses {
            let kinds = [
                s.call_using_kind,
                s.send_calls_to_kind,
                s.when_busy_kind,
                s.if_no_answer_kind,
            ];
            let kinds_fit = kinds
                .iter()
                .zip(&refs(s)[1..])
                .all(|(k, n)| (*k == TargetKind::Number) == n.is_some());
            let res = re(s.remote_extension_id) && re(s.call_using_number_id);
            assert!(refs(s).iter().all(own) && res && kinds_fit, "{ctx}: R7 {s:?}");
        }
    }
}

/// What may change in one step (R2, R5, R6, R10, R11), and that a refusal changes nothing (E1).
pub fn check_step(before: &Rows, after: &Rows, refused: bool, ctx: &str) {
    if refused {
        assert_eq!(before, after, "{ctx}: E1 a refusal changes nothing");
        return;
    }
    for old in &before.numbers {
        match after.number(old.id) {
            None => assert!(!before.in_use(old), "{ctx}: R6 {old:?} was in use but deleted"),
            Some(new) if !before.lock_reasons(old).is_empty() => assert!(
                new.number == old.number && new.is_remote_extension == old.is_remote_extension,
                "{ctx}: R5 locked {old:?} changed to {new:?}"
            ),
            Some(_) => {}
        }
    }
    for new in &after.numbers {
        let old = before.number(new.id);
        if new.is_remote_extension && new.origin == NumberOrigin::User && !old.is_some_and(|o| o.is_remote_extension) {
            let mut provisioned = before
                .numbers_of(new.user_id)
                .filter(|n| n.origin != NumberOrigin::User);
            assert!(provisioned.any(|n| n.is_remote_extension), "{ctx}: R2 {new:?}");
        }
        if new.call_through && !old.is_some_and(|o| o.call_through) {
            assert!(before.allows(new.user_id), "{ctx}: R11 against the profile: {new:?}");
        }
    }
    for old in &before.statuses {
        let deleted = !after.statuses.iter().any(|a| a.id == old.id);
        assert!(
            !deleted || before.active(old.user_id) != Some(old.id),
            "{ctx}: R10 deleted the active status"
        );
    }
}

/// R4, platform-wide: a remote-extension number has one holder.
pub async fn check_platform(app: &TestApp, ctx: &str) {
    let all = user_number::Entity::find().filter(user_number::Column::IsRemoteExtension.eq(true));
    let mut holder: HashMap<String, Uuid> = HashMap::new();
    for n in all.all(&app.state.db).await.unwrap() {
        let first = *holder.entry(n.number.clone()).or_insert(n.user_id);
        assert_eq!(first, n.user_id, "{ctx}: R4 two users hold {}", n.number);
    }
}
