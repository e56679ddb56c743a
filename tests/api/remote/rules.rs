//! Remote Extension numbers, rule by rule (SPEC R2–R6, E1): each test asserts the answer, a
//! read-back (changed, or unchanged after a refusal) and the outbox rows. Statuses and routing
//! are in `remote::routing` and `remote::statuses`, the role table and T1 in `remote::access`,
//! races in `remote::concurrency`, random sequences in `remote::props`.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

async fn r2_users_add_remote_extensions_only_beside_a_provisioned_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm) = (app.token(w.c.user1), app.token(w.c.dm));
    let home = number("09818123456", true, "Home");
    refused(
        &app,
        &user,
        "userNumberCreate",
        home.clone(),
        "NO_ADMIN_REMOTE_EXTENSION",
    )
    .await;
    assert_eq!(read_user(&app, &user, w.c.user1).await["canAddRemoteExtension"], false);

    // Numbers without the flag can always be added.
    let head = outbox_head(&app).await;
    let mobile = rcall(&app, &user, "userNumberCreate", number("+46701234567", false, "Mobile")).await;
    assert_eq!(mobile["userNumber"]["origin"], "USER");
    assert_eq!(types_since(&app, head).await, ["user_number.created"]);

    // An administrator provisions one (R12), labelled with the prefix (R5).
    let input = json!({ "userId": gid(api::graphql::ids::Kind::User, w.c.user1), "number": "0701110004", "isRemoteExtension": true });
    let admin = rcall(&app, &dm, "userNumberCreate", input).await;
    assert_eq!(admin["userNumber"]["origin"], "ADMIN");
    assert_eq!(admin["userNumber"]["label"], "Admin: 0701110004");
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(read["canAddRemoteExtension"], true);

    // Now the seed's example goes through, stored exactly as given (R3: code 0 + 9818123456).
    let head = outbox_head(&app).await;
    let own = rcall(&app, &user, "userNumberCreate", home).await;
    assert_eq!(own["userNumber"]["number"], "09818123456");
    assert_eq!(own["userNumber"]["isRemoteExtension"], true);
    assert_eq!(own["userNumber"]["origin"], "USER");
    let events = events_since(&app, head).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "user_number.created");
    assert_eq!(events[0].1["number"], "09818123456");
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(
        number_in(&read, own["userNumber"]["id"].as_str().unwrap())["number"],
        "09818123456"
    );

    // A platform-provisioned remote extension opens the door too.
    let other = app.token(w.c.user2);
    provision_platform(&app, w.c.user2, "0702220002").await;
    let r = rcall(&app, &other, "userNumberCreate", number("0733333333", true, "Cabin")).await;
    assert!(rcodes(&r).is_empty(), "{r}");
}

backend_tests!(r2_users_add_remote_extensions_only_beside_a_provisioned_one);

async fn r3_numbers_and_labels_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    provision_admin(&app, w.c.user1, "0701110004").await;
    let digits = |n: usize| "1".repeat(n);
    for (n, re) in [
        ("9818123456".to_owned(), true),     // no destination code
        ("+09818123456".to_owned(), true),   // digits only
        ("0".to_owned(), true),              // too short
        (format!("0{}", digits(25)), true),  // 26 digits
        ("12 34".to_owned(), false),         // no spaces
        (format!("+{}", digits(26)), false), // 27 characters
        ("1".to_owned(), false),             // too short
        ("12a4".to_owned(), false),          // letters
    ] {
        refused(
            &app,
            &user,
            "userNumberCreate",
            number(&n, re, "X"),
            "VALIDATION_FAILED",
        )
        .await;
    }
    for (n, re, label) in [
        (format!("0{}", digits(24)), true, "Longest remote"),
        (format!("+{}", digits(25)), false, "Longest"),
        ("*21#".to_owned(), false, "Forward code"),
        ("00".to_owned(), true, "Shortest"),
    ] {
        let r = rcall(&app, &user, "userNumberCreate", number(&n, re, label)).await;
        assert_eq!(r["userNumber"]["number"], n.as_str(), "{r}");
    }
    // Labels: trimmed, 1–64 characters, unique per user ignoring case.
    let r = rcall(&app, &user, "userNumberCreate", number("+4680001", false, "  Desk  ")).await;
    assert_eq!(r["userNumber"]["label"], "Desk");
    refused(
        &app,
        &user,
        "userNumberCreate",
        number("+4680002", false, "desk"),
        "VALIDATION_FAILED",
    )
    .await;
    refused(
        &app,
        &user,
        "userNumberCreate",
        number("+4680002", false, "   "),
        "VALIDATION_FAILED",
    )
    .await;
    let long = "L".repeat(65);
    refused(
        &app,
        &user,
        "userNumberCreate",
        number("+4680002", false, &long),
        "VALIDATION_FAILED",
    )
    .await;
    let id = r["userNumber"]["id"].as_str().unwrap();
    let bad = json!({ "id": id, "number": "12 34" });
    refused(&app, &user, "userNumberUpdate", bad, "VALIDATION_FAILED").await;
    assert_eq!(
        number_in(&read_user(&app, &user, w.c.user1).await, id)["number"],
        "+4680001"
    );
}

backend_tests!(r3_numbers_and_labels_are_checked);

async fn r4_a_number_once_per_user_and_a_remote_extension_once_anywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    provision_admin(&app, w.c.user1, "0701110004").await;
    rcall(&app, &user, "userNumberCreate", number("+46701234567", false, "Mobile")).await;
    refused(
        &app,
        &user,
        "userNumberCreate",
        number("+46701234567", false, "Again"),
        "DUPLICATE_NUMBER",
    )
    .await;
    refused(
        &app,
        &user,
        "userNumberCreate",
        number("0701110004", false, "Plain"),
        "DUPLICATE_NUMBER",
    )
    .await;

    // The same remote extension for someone else: same account, another account.
    let uid = |u| gid(api::graphql::ids::Kind::User, u);
    for (token, owner) in [(app.token(w.c.dm), w.c.user2), (app.token(w.d.dm), w.d.user1)] {
        let input = json!({ "userId": uid(owner), "number": "0701110004", "isRemoteExtension": true });
        refused(&app, &token, "userNumberCreate", input, "NUMBER_IN_USE_ELSEWHERE").await;
    }
    // As an ordinary number it is anyone's.
    let other = app.token(w.c.user2);
    let plain = rcall(&app, &other, "userNumberCreate", number("0701110004", false, "Hanna's")).await;
    let plain_id = id_of(&plain, "userNumber");
    // ...until it is flagged, or an own remote extension is renumbered onto it.
    provision_admin(&app, w.c.user2, "0702220002").await;
    let flag = json!({ "id": plain_id, "isRemoteExtension": true });
    refused(&app, &other, "userNumberUpdate", flag, "NUMBER_IN_USE_ELSEWHERE").await;
    let own = rcall(&app, &other, "userNumberCreate", number("0733333333", true, "Cabin")).await;
    rcall(&app, &user, "userNumberCreate", number("0744444444", true, "Boat")).await;
    let renumber = json!({ "id": id_of(&own, "userNumber"), "number": "0744444444" });
    refused(&app, &other, "userNumberUpdate", renumber, "NUMBER_IN_USE_ELSEWHERE").await;
    let renumber = json!({ "id": id_of(&own, "userNumber"), "number": "0701110005" });
    let r = rcall(&app, &other, "userNumberUpdate", renumber).await;
    assert_eq!(r["userNumber"]["number"], "0701110005");
}

backend_tests!(r4_a_number_once_per_user_and_a_remote_extension_once_anywhere);

async fn r5_provisioned_and_used_numbers_are_locked_but_relabelable(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let admin_re = provision_admin(&app, w.c.user1, "0701110004").await;
    let read = read_user(&app, &user, w.c.user1).await;
    let n = number_in(&read, &admin_re);
    assert_eq!(
        (n["label"].clone(), n["locked"].clone()),
        (json!("Admin: 0701110004"), json!(true))
    );
    assert_eq!(n["lockReasons"], json!(["PROVISIONED"]));

    // The label may change; the number and the flag may not.
    let head = outbox_head(&app).await;
    let r = rcall(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": admin_re, "label": "Work mobile" }),
    )
    .await;
    assert_eq!(r["userNumber"]["label"], "Work mobile");
    let events = events_since(&app, head).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].1["changes"]["label"],
        json!({"old": "Admin: 0701110004", "new": "Work mobile"})
    );
    for change in [json!({ "number": "0701110009" }), json!({ "isRemoteExtension": false })] {
        let mut input = change;
        input["id"] = json!(admin_re);
        refused(&app, &user, "userNumberUpdate", input, "NUMBER_LOCKED").await;
    }

    // A user's own number locks while a status uses it, and as the active remote extension.
    let own = id_of(
        &rcall(&app, &user, "userNumberCreate", number("0733333333", true, "Cabin")).await,
        "userNumber",
    );
    let plain = id_of(
        &rcall(&app, &user, "userNumberCreate", number("+4680001", false, "Desk")).await,
        "userNumber",
    );
    assert_eq!(
        number_in(&read_user(&app, &user, w.c.user1).await, &own)["locked"],
        false
    );
    let status = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({
            "name": "Cabin week", "presence": "AWAY", "remoteExtensionId": own,
            "ifNoAnswer": { "kind": "NUMBER", "numberId": plain },
        }),
    )
    .await;
    let status = id_of(&status, "dynamicStatus");
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(number_in(&read, &own)["lockReasons"], json!(["USED_BY_STATUS"]));
    assert_eq!(number_in(&read, &plain)["lockReasons"], json!(["USED_BY_STATUS"]));
    rcall(&app, &user, "dynamicStatusActivate", json!({ "id": status })).await;
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(
        number_in(&read, &own)["lockReasons"],
        json!(["USED_BY_STATUS", "ACTIVE_REMOTE_EXTENSION"])
    );
    refused(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": own, "number": "0733333334" }),
        "NUMBER_LOCKED",
    )
    .await;
    refused(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": plain, "number": "+4680002" }),
        "NUMBER_LOCKED",
    )
    .await;
}

backend_tests!(r5_provisioned_and_used_numbers_are_locked_but_relabelable);

async fn r5_the_label_prefix_is_configurable(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.remote_extension.admin_label_prefix = "IT: ".into()).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let admin = provision_admin(&app, w.c.user1, "0701110004").await;
    let platform = provision_platform(&app, w.c.user1, "0701110005").await;
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(number_in(&read, &admin)["label"], "IT: 0701110004");
    assert_eq!(number_in(&read, &platform)["label"], "IT: 0701110005");
    assert_eq!(number_in(&read, &platform)["origin"], "PLATFORM");
}

backend_tests!(r5_the_label_prefix_is_configurable);

async fn r6_who_may_delete_which_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm, support) = (app.token(w.c.user1), app.token(w.c.dm), app.support());
    let admin_re = provision_admin(&app, w.c.user1, "0701110004").await;
    let platform_re = provision_platform(&app, w.c.user1, "0701110005").await;
    let own = id_of(
        &rcall(&app, &user, "userNumberCreate", number("0733333333", true, "Cabin")).await,
        "userNumber",
    );
    let spare = id_of(
        &rcall(&app, &user, "userNumberCreate", number("+4680001", false, "Desk")).await,
        "userNumber",
    );

    let read = read_user(&app, &user, w.c.user1).await;
    let deletable = |r: &Value, id: &str| number_in(r, id)["deletable"].clone();
    assert_eq!(deletable(&read, &admin_re), false, "users delete only what they added");
    assert_eq!(deletable(&read, &platform_re), false);
    assert_eq!(deletable(&read, &spare), true);
    assert_eq!(deletable(&read_user(&app, &dm, w.c.user1).await, &admin_re), true);

    refused(&app, &user, "userNumberDelete", json!({ "id": admin_re }), "FORBIDDEN").await;
    // The refusals say who may, and what to do.
    let p = rcall(&app, &user, "userNumberDelete", json!({ "id": admin_re })).await;
    assert_eq!(
        p["userErrors"][0]["message"],
        "an administrator provisioned this number; only Support or an administrator covering the user (a Decision \
         Maker, an account-wide Phone Manager, or a Phone Manager of the user's location) may delete it"
    );
    let p = rcall(&app, &dm, "userNumberDelete", json!({ "id": platform_re })).await;
    assert_eq!(
        p["userErrors"][0]["message"],
        "only the platform sync may delete a number from the platform: remove it on the communication platform and \
         the next sync removes it here"
    );
    for token in [&user, &dm, &support] {
        refused(
            &app,
            token,
            "userNumberDelete",
            json!({ "id": platform_re }),
            "FORBIDDEN",
        )
        .await;
    }
    // In use: by a status, and as the active remote extension — for the admin too.
    let status = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Cabin", "presence": "AWAY", "remoteExtensionId": own }),
    )
    .await;
    rcall(
        &app,
        &user,
        "dynamicStatusActivate",
        json!({ "id": id_of(&status, "dynamicStatus") }),
    )
    .await;
    for token in [&user, &dm] {
        refused(&app, token, "userNumberDelete", json!({ "id": own }), "NUMBER_IN_USE").await;
    }
    let head = outbox_head(&app).await;
    let r = rcall(&app, &user, "userNumberDelete", json!({ "id": spare })).await;
    assert_eq!(r["deletedId"], spare.as_str());
    let r = rcall(&app, &dm, "userNumberDelete", json!({ "id": admin_re })).await;
    assert_eq!(r["deletedId"], admin_re.as_str());
    assert_eq!(
        types_since(&app, head).await,
        ["user_number.deleted", "user_number.deleted"]
    );
    let read = read_user(&app, &user, w.c.user1).await;
    assert!(number_in(&read, &spare).is_null() && number_in(&read, &admin_re).is_null());
    assert_eq!(read["numbers"]["totalCount"], 2);
}

backend_tests!(r6_who_may_delete_which_number);

/// A user's own numbers as the database builds them (`me { numbers { totalCount nodes { … } } }`,
/// issue 17) answer as the numbers read whole and paged in memory do (asked with `edges`), from
/// either end, around cursors and past both ends.
async fn own_numbers_built_answer_as_paged_in_memory(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    for i in 0..7 {
        let label = format!("Line {i}");
        rcall(
            &app,
            &user,
            "userNumberCreate",
            number(&format!("+4680000{i}"), false, &label),
        )
        .await;
    }
    let query = |fields: &str| {
        format!(
            "query($first: Int, $last: Int, $after: String, $before: String) {{ me {{
                numbers(first: $first, last: $last, after: $after, before: $before) {{ {fields} }} }} }}"
        )
    };
    let resolved =
        query("totalCount edges { cursor node { id label number } } pageInfo { hasNextPage hasPreviousPage }");
    let built = query("totalCount nodes { id label number } pageInfo { hasNextPage hasPreviousPage }");
    let all = app.gql(&user, &resolved, json!({ "first": 50 })).await;
    let edges = all["data"]["me"]["numbers"]["edges"].as_array().unwrap().clone();
    assert!(edges.len() >= 7, "{all}");
    let c: Vec<Value> = edges.iter().map(|e| e["cursor"].clone()).collect();
    let n = c.len();
    for vars in [
        json!({}),
        json!({ "first": 3 }),
        json!({ "first": 0 }),
        json!({ "last": 2 }),
        json!({ "first": 2, "after": c[1] }),
        json!({ "first": 5, "after": c[n - 1] }),
        json!({ "last": 2, "before": c[4] }),
        json!({ "last": 3, "before": c[0] }),
    ] {
        let r = app.gql(&user, &resolved, vars.clone()).await;
        let b = app.gql(&user, &built, vars.clone()).await;
        let (r, b) = (&r["data"]["me"]["numbers"], &b["data"]["me"]["numbers"]);
        let nodes: Vec<Value> = r["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        assert_eq!(b["nodes"], json!(nodes), "{vars}: {b} against {r}");
        assert_eq!(b["totalCount"], r["totalCount"], "{vars}");
        assert_eq!(b["pageInfo"], r["pageInfo"], "{vars}");
    }
}
backend_tests!(own_numbers_built_answer_as_paged_in_memory);

/// A user's own statuses as the database builds them (`me { dynamicStatuses { … } }`, issue 17)
/// answer as the statuses resolved one by one do (the same fields behind a fragment, which is
/// never built): every stored column, a null message, aliases, `viewer.user`, beside a field
/// that loads the statuses anyway, and a user of another platform.
async fn own_statuses_built_answer_as_resolved(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let lunch = json!({ "name": "Lunch", "presence": "AWAY", "message": "Back at 1" });
    rcall(&app, &user, "dynamicStatusCreate", lunch).await;
    rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Focus", "presence": "DO_NOT_DISTURB" }),
    )
    .await;
    let fields = "id name presence message origin __typename";
    let aliased = "i: id n: name p: presence m: message";
    for (token, root) in [(&user, "me"), (&user, "viewer { user"), (&app.token(w.m.user1), "me")] {
        let close = if root.contains('{') { "}" } else { "" };
        for (selection, beside) in [(fields, ""), (aliased, ""), (fields, "activeStatus { name }")] {
            let built = format!("{{ {root} {{ dynamicStatuses {{ {selection} }} {beside} }} {close} }}");
            let resolved = format!(
                "{{ {root} {{ dynamicStatuses {{ ... on DynamicStatus {{ {selection} }} }} {beside} }} {close} }}"
            );
            let (b, r) = (
                app.gql(token, &built, json!({})).await,
                app.gql(token, &resolved, json!({})).await,
            );
            assert!(b["errors"].is_null() && r["errors"].is_null(), "{b} {r}");
            assert_eq!(b, r, "{built}");
        }
    }
    let read = app
        .gql(
            &user,
            &format!("{{ me {{ dynamicStatuses {{ {fields} }} }} }}"),
            json!({}),
        )
        .await;
    let statuses = read["data"]["me"]["dynamicStatuses"].as_array().unwrap();
    let names: Vec<&str> = statuses.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names.len(),
        8,
        "the six defaults, then the user's two, oldest first: {read}"
    );
    assert_eq!(names[6..], ["Lunch", "Focus"]);
    assert_eq!(statuses[6]["message"], "Back at 1");
    assert!(statuses[7]["message"].is_null());
    assert_eq!(
        (&statuses[7]["presence"], &statuses[7]["origin"]),
        (&json!("DO_NOT_DISTURB"), &json!("USER"))
    );
    assert_eq!(statuses[0]["origin"], "ADMIN");
    assert!(statuses[0]["id"].as_str().unwrap() != statuses[1]["id"].as_str().unwrap());
    let other = app
        .gql(&app.token(w.m.user1), "{ me { dynamicStatuses { name } } }", json!({}))
        .await;
    assert_eq!(other["data"]["me"]["dynamicStatuses"], json!([]), "{other}");
}
backend_tests!(own_statuses_built_answer_as_resolved);
