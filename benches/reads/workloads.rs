//! The listings the bench reads: each a GraphQL request to Reach (with the token of a caller who
//! may read it) and the floor's statement for the same answer.

use api::graphql::ids::{Kind, encode};
use sea_orm::{DbBackend, Statement, Value};
use serde_json::{Value as Json, json};
use uuid::Uuid;

use super::{
    floor::{Dialect, Field, statement},
    seed::{COMMON, RARE, World},
};

/// Page size of every listing.
const FIRST: usize = 50;

/// One listing.
pub struct Workload {
    /// Its row label.
    pub name: String,
    /// Reach's request body.
    pub body: Vec<u8>,
    /// The caller's token.
    pub token: String,
    /// Where the listing is in Reach's `data`.
    pub path: Vec<&'static str>,
    /// The floor's candidate statements: the bench serves the fastest (a filtered list can be
    /// cheapest scanned once, or counted and then walked in index order, by its selectivity).
    pub floor: Vec<Statement>,
}

impl Workload {
    /// `{"totalCount", "nodes"}` (or `{"nodes"}` for a plain list) from Reach's answer, to
    /// compare with the floor's.
    pub fn reach_answer(&self, body: &Json) -> Json {
        let found = self.path.iter().fold(&body["data"], |v, key| &v[*key]);
        match found {
            Json::Array(_) => json!({ "nodes": found }),
            _ => json!({ "totalCount": found["totalCount"], "nodes": found["nodes"] }),
        }
    }
}

const MOBILITY: &str = "query($a: ID!, $s: String, $f: MobilityUserFilter) { account(id: $a) { mobility {
    users(first: 50, search: $s, filter: $f) { totalCount nodes { name phoneNumber extension mobilityExtension } } } } }";
const MOBILITY_FIELDS: [Field; 4] = [
    ("name", "name"),
    ("phoneNumber", "phone_number"),
    ("extension", "extension"),
    ("mobilityExtension", "mobility_extension"),
];
const USER_FIELDS: [Field; 3] = [
    ("name", "name"),
    ("phoneNumber", "phone_number"),
    ("extension", "extension"),
];

/// The tokens the workloads use.
pub struct Tokens {
    /// Support staff.
    pub support: String,
    /// Bench Corp's Decision Maker.
    pub dm: String,
    /// Bench Corp's location Phone Manager.
    pub location_pm: String,
    /// Eligible Co's Decision Maker.
    pub eligible_dm: String,
    /// The screen user (Remote Co).
    pub screen_user: String,
}

fn body(query: &str, variables: Json) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap()
}

/// Escapes `%`, `_` and `\` of lower-cased `text` for `LIKE '%…%' ESCAPE '\'`, as Reach does.
fn pattern(text: &str) -> Value {
    api::service::pagination::like_pattern(text).into()
}

/// Every workload, in table order.
pub fn all(backend: DbBackend, w: &World, t: &Tokens) -> Vec<Workload> {
    let d = Dialect(backend);
    let account = encode(Kind::Account, w.account).0;
    let id = |u: Uuid| -> Value { u.into() };
    let mut out = Vec::new();

    // mobility.users, no search: count by the mobility_user index, page in name order.
    let page = "SELECT u.name, u.phone_number, u.extension, m.mobility_extension, u.sort_name, u.id \
        FROM app_user u JOIN mobility_user m ON m.user_id = u.id \
        WHERE u.account_id = $1 ORDER BY u.sort_name, u.id LIMIT 50";
    let count = "SELECT count(*) FROM mobility_user WHERE account_id = $1";
    out.push(Workload {
        name: "`mobility.users`".into(),
        body: body(MOBILITY, json!({ "a": account })),
        token: t.dm.clone(),
        path: vec!["account", "mobility", "users"],
        floor: vec![statement(
            backend,
            d.answer(Some(count), &MOBILITY_FIELDS, page, "p.sort_name, p.id"),
            vec![id(w.account)],
        )],
    });

    // Searches and per-column filters: one scan of the matching rows.
    let hits = |condition: &str| {
        format!(
            "SELECT u.name, u.phone_number, u.extension, m.mobility_extension, u.sort_name, u.id \
             FROM app_user u JOIN mobility_user m ON m.user_id = u.id WHERE u.account_id = $1 AND ({condition})"
        )
    };
    let like = |column: &str| format!("{column} LIKE $2 ESCAPE '\\'");
    let any = [
        like("u.sort_name"),
        like("u.phone_number"),
        like("u.extension"),
        like("m.mobility_extension"),
    ]
    .join(" OR ");
    for (label, text) in [
        (format!("search \"{COMMON}\""), COMMON),
        (format!("search \"{RARE}\""), RARE),
    ] {
        out.push(Workload {
            name: format!("`mobility.users`, {label}"),
            body: body(MOBILITY, json!({ "a": account, "s": text })),
            token: t.dm.clone(),
            path: vec!["account", "mobility", "users"],
            floor: vec![
                statement(
                    backend,
                    d.filtered(&hits(&any), &MOBILITY_FIELDS, FIRST),
                    vec![id(w.account), pattern(text)],
                ),
                statement(
                    backend,
                    d.two_pass(&hits(&any), &MOBILITY_FIELDS, FIRST),
                    vec![id(w.account), pattern(text)],
                ),
            ],
        });
    }
    for (key, column, text) in [
        ("name", "u.sort_name", "son"),
        ("phoneNumber", "u.phone_number", "123"),
        ("extension", "u.extension", "2000"),
        ("mobilityExtension", "m.mobility_extension", "6012"),
    ] {
        out.push(Workload {
            name: format!("`mobility.users`, filter {key} \"{text}\""),
            body: body(MOBILITY, json!({ "a": account, "f": { key: text } })),
            token: t.dm.clone(),
            path: vec!["account", "mobility", "users"],
            floor: vec![
                statement(
                    backend,
                    d.filtered(&hits(&like(column)), &MOBILITY_FIELDS, FIRST),
                    vec![id(w.account), pattern(text)],
                ),
                statement(
                    backend,
                    d.two_pass(&hits(&like(column)), &MOBILITY_FIELDS, FIRST),
                    vec![id(w.account), pattern(text)],
                ),
            ],
        });
    }

    // A location's Phone Manager: the location's users, by the location index.
    let page = "SELECT u.name, u.phone_number, u.extension, m.mobility_extension, u.sort_name, u.id \
        FROM app_user u JOIN mobility_user m ON m.user_id = u.id \
        WHERE u.location_id = $2 AND u.account_id = $1 ORDER BY u.sort_name, u.id LIMIT 50";
    let count = "SELECT count(*) FROM app_user u JOIN mobility_user m ON m.user_id = u.id \
        WHERE u.location_id = $2 AND u.account_id = $1";
    out.push(Workload {
        name: "`mobility.users`, location Phone Manager".into(),
        body: body(MOBILITY, json!({ "a": account })),
        token: t.location_pm.clone(),
        path: vec!["account", "mobility", "users"],
        floor: vec![statement(
            backend,
            d.answer(Some(count), &MOBILITY_FIELDS, page, "p.sort_name, p.id"),
            vec![id(w.account), id(w.location)],
        )],
    });

    // The wizard: eligible profiles not enabled yet.
    let eligible = "u.account_id = $1 AND u.phone_profile IN ('ESSENTIALS', 'PREMIER', 'ELITE') \
        AND NOT EXISTS (SELECT 1 FROM mobility_user m WHERE m.user_id = u.id)";
    let page = format!(
        "SELECT u.name, u.phone_number, u.extension, u.sort_name, u.id FROM app_user u \
         WHERE {eligible} ORDER BY u.sort_name, u.id LIMIT 50"
    );
    out.push(Workload {
        name: "`mobility.eligibleUsers`".into(),
        body: body(
            "query($a: ID!) { account(id: $a) { mobility { eligibleUsers(first: 50) {
                totalCount nodes { name phoneNumber extension } } } } }",
            json!({ "a": encode(Kind::Account, w.eligible_account).0 }),
        ),
        token: t.eligible_dm.clone(),
        path: vec!["account", "mobility", "eligibleUsers"],
        floor: vec![statement(
            backend,
            d.answer(
                Some(&format!("SELECT count(*) FROM app_user u WHERE {eligible}")),
                &USER_FIELDS,
                &page,
                "p.sort_name, p.id",
            ),
            vec![id(w.eligible_account)],
        )],
    });

    // Account.users: the account index, count and page.
    out.push(Workload {
        name: "`Account.users`".into(),
        body: body(
            "query($a: ID!) { account(id: $a) { users(first: 50) { totalCount nodes { name phoneNumber extension } } } }",
            json!({ "a": account }),
        ),
        token: t.dm.clone(),
        path: vec!["account", "users"],
        floor: vec![statement(
            backend,
            d.answer(
                Some("SELECT count(*) FROM app_user WHERE account_id = $1"),
                &USER_FIELDS,
                "SELECT name, phone_number, extension, sort_name, id FROM app_user \
                 WHERE account_id = $1 ORDER BY sort_name, id LIMIT 50",
                "p.sort_name, p.id",
            ),
            vec![id(w.account)],
        )],
    });

    // Support's accounts.
    out.push(Workload {
        name: "`accounts` (Support)".into(),
        body: body(
            "{ accounts(first: 50) { totalCount nodes { name platform } } }",
            json!({}),
        ),
        token: t.support.clone(),
        path: vec!["accounts"],
        floor: vec![statement(
            backend,
            d.answer(
                Some("SELECT count(*) FROM account"),
                &[("name", "name"), ("platform", "platform")],
                "SELECT name, platform, sort_name, id FROM account ORDER BY sort_name, id LIMIT 50",
                "p.sort_name, p.id",
            ),
            vec![],
        )],
    });

    // The user's own screen: numbers and statuses, oldest first (UUIDv7 ids).
    out.push(Workload {
        name: "`User.numbers` (own screen)".into(),
        body: body(
            "{ me { numbers(first: 50) { totalCount nodes { label number } } } }",
            json!({}),
        ),
        token: t.screen_user.clone(),
        path: vec!["me", "numbers"],
        floor: vec![statement(
            backend,
            d.answer(
                Some("SELECT count(*) FROM user_number WHERE user_id = $1"),
                &[("label", "label"), ("number", "number")],
                "SELECT label, number, id FROM user_number WHERE user_id = $1 ORDER BY id LIMIT 50",
                "p.id",
            ),
            vec![id(w.screen_user)],
        )],
    });
    out.push(Workload {
        name: "`User.dynamicStatuses` (own screen)".into(),
        body: body("{ me { dynamicStatuses { name presence message } } }", json!({})),
        token: t.screen_user.clone(),
        path: vec!["me", "dynamicStatuses"],
        floor: vec![statement(
            backend,
            d.answer(
                None,
                &[("name", "name"), ("presence", "presence"), ("message", "message")],
                "SELECT name, presence, message, id FROM dynamic_status WHERE user_id = $1",
                "p.id",
            ),
            vec![id(w.screen_user)],
        )],
    });
    out
}
