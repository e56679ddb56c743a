//! Who may do what with client profiles, and what `deletable` and `editable` tell each caller
//! (SPEC §1, §4: R6, R10, R12, T1), with the role-table helpers of `remote::access`: each case
//! asserts the answer, a read-back as Support and the outbox.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;
use crate::remote::access::{OK, at, flags, names, own, profiles, start};

async fn client_profiles_by_role(backend: Backend) {
    let app = start(backend).await;
    let c = RemoteWorld::build(&app).await.c;
    let (sup, tok) = (app.support(), |who: Uuid| app.token(who));
    let (u1, pm1, dm, pm) = (tok(c.user1), tok(c.pm_loc1), tok(c.dm), tok(c.pm));
    let (account, default) = (gid(Kind::Account, c.account), gid(Kind::ClientProfile, c.account));
    let (user1, user2) = (at(&app, &c, c.user1), at(&app, &c, c.user2));
    let mut made = Vec::new();
    for (who, token, name, expect) in [
        ("Support", &sup, "Basic", OK),
        ("DM", &dm, "Contractors", OK),
        ("account PM", &pm, "Aardvark", OK),
        ("location PM", &pm1, "Nope", "FORBIDDEN"),
        ("user1", &u1, "Nope", "FORBIDDEN"),
    ] {
        let input = json!({ "accountId": account, "name": name, "allowUsersAddStatus": false });
        let p = user1.check(who, token, "clientProfileCreate", input, expect).await;
        made.extend(p["clientProfile"]["id"].as_str().map(str::to_owned));
    }
    // The default first, then by name.
    let listed = names(&profiles(&app, &sup, c.account).await);
    assert_eq!(listed, ["Default", "Aardvark", "Basic", "Contractors"]);

    let (basic, contractors) = (&made[0], &made[1]);
    for (who, token, input, expect) in [
        ("Support", &sup, json!({ "id": basic, "allowUsersAddStatus": true }), OK),
        ("DM", &dm, json!({ "id": basic, "callThroughAllowed": false }), OK),
        ("account PM", &pm, json!({ "id": default, "name": "Standard" }), OK),
        ("location PM", &pm1, json!({ "id": basic, "name": "Nope" }), "FORBIDDEN"),
        ("user1", &u1, json!({ "id": basic, "name": "Nope" }), "FORBIDDEN"),
    ] {
        user1.check(who, token, "clientProfileUpdate", input, expect).await;
    }
    let listed = names(&profiles(&app, &sup, c.account).await);
    assert_eq!(listed, ["Standard", "Aardvark", "Basic", "Contractors"]);

    for (who, token, on, profile, expect) in [
        ("Support on user2", &sup, user2, Some(basic), OK),
        ("DM on user2, to default", &dm, user2, None, OK),
        ("account PM on user1", &pm, user1, Some(basic), OK),
        ("location PM on user1", &pm1, user1, Some(contractors), OK),
        ("location PM on user2", &pm1, user2, Some(basic), "FORBIDDEN"),
        ("user1 on user2", &u1, user2, Some(basic), "NOT_FOUND"),
    ] {
        let input = json!({ "userId": gid(Kind::User, on.user), "clientProfileId": profile });
        on.check(who, token, "userClientProfileSet", input, expect).await;
    }

    // user1's profile now forbids own statuses (R10): the user may not add one, the admin may.
    assert_eq!(flags(&app, &u1, c.user1).await["canAddStatus"], false);
    assert_eq!(flags(&app, &pm1, c.user1).await["canAddStatus"], true);
    let mut input = json!({ "name": "Gym", "presence": "AWAY" });
    user1
        .check("user1", &u1, "dynamicStatusCreate", input.clone(), "FORBIDDEN")
        .await;
    input["userId"] = json!(gid(Kind::User, c.user1));
    user1.check("location PM", &pm1, "dynamicStatusCreate", input, OK).await;
}

/// A plain user's profile is an administrator's choice. The user sees themself, so the answer is
/// `FORBIDDEN` (as `mobilityUserUpdate` on oneself), not the `NOT_FOUND` of an unknown id.
async fn a_user_cannot_choose_their_own_profile(backend: Backend) {
    let app = start(backend).await;
    let c = RemoteWorld::build(&app).await.c;
    let input = json!({ "accountId": gid(Kind::Account, c.account), "name": "Power" });
    let profile = rcall(&app, &app.support(), "clientProfileCreate", input).await;
    let profile = id_of(&profile, "clientProfile");
    let input = json!({ "userId": gid(Kind::User, c.user1), "clientProfileId": profile });
    let (on1, token) = (at(&app, &c, c.user1), app.token(c.user1));
    on1.check("user1", &token, "userClientProfileSet", input, "FORBIDDEN")
        .await;
}

async fn deletable_and_editable_follow_the_caller(backend: Backend) {
    let app = start(backend).await;
    let c = RemoteWorld::build(&app).await.c;
    let (sup, tok) = (app.support(), |who: Uuid| app.token(who));
    let (u1, pm1, user1) = (tok(c.user1), tok(c.pm_loc1), at(&app, &c, c.user1));
    assert_eq!(flags(&app, &u1, c.user1).await["canAddRemoteExtension"], false, "R2");
    assert_eq!(flags(&app, &pm1, c.user1).await["canAddRemoteExtension"], true, "R12");
    let admin_number = provision_admin(&app, c.user1, "0981230001").await;
    let platform_number = provision_platform(&app, c.user1, "0981230002").await;
    let (own_number, own_status) = own(&app, c.user1, 1).await;
    let read = user1.state().await.0;
    let admin_status = read["activeStatus"]["id"].as_str().unwrap().to_owned();
    let busy = read["dynamicStatuses"][1]["id"].as_str().unwrap().to_owned();
    let flag = |read: &Value, id: &str, f: &str| {
        let (numbers, statuses) = (read["numbers"]["nodes"].as_array(), read["dynamicStatuses"].as_array());
        let mut all = numbers.unwrap().iter().chain(statuses.unwrap());
        all.find(|x| x["id"] == id).unwrap()[f].clone()
    };
    // Per caller: deletable (own, admin, platform number), editable (own, admin status).
    for (who, token, deletable, editable) in [
        ("user1", &u1, [true, false, false], [true, false]),
        ("location PM", &pm1, [true, true, false], [true, true]),
        ("DM", &tok(c.dm), [true, true, false], [true, true]),
        ("Support", &sup, [true, true, false], [true, true]),
    ] {
        let read = flags(&app, token, c.user1).await;
        let numbers = [&own_number, &admin_number, &platform_number];
        for (id, want) in numbers.into_iter().zip(deletable) {
            assert_eq!(flag(&read, id, "deletable"), want, "{who}: deletable {id}");
        }
        for (id, want) in [&own_status, &admin_status].into_iter().zip(editable) {
            assert_eq!(flag(&read, id, "editable"), want, "{who}: editable {id}");
        }
    }
    let read = flags(&app, &u1, c.user1).await;
    assert_eq!(flag(&read, &admin_number, "lockReasons"), json!(["PROVISIONED"]));

    // The actions agree with the flags; in use, the admin's number is deletable by nobody (R6).
    let (id, admin) = (|id: &str| json!({ "id": id }), admin_number.as_str());
    let rename = json!({ "id": admin_status, "name": "Here" });
    let route = json!({ "id": own_status, "remoteExtensionId": admin_number });
    for (who, token, m, input, expect) in [
        ("user1", &u1, "userNumberDelete", id(admin), "FORBIDDEN"),
        ("Support", &sup, "userNumberDelete", id(&platform_number), "FORBIDDEN"),
        ("user1", &u1, "dynamicStatusUpdate", rename.clone(), "STATUS_READONLY"),
        ("user1", &u1, "dynamicStatusDelete", id(&busy), "STATUS_READONLY"),
        ("user1", &u1, "dynamicStatusActivate", id(&busy), OK),
        ("location PM", &pm1, "dynamicStatusUpdate", rename, OK),
        ("user1", &u1, "dynamicStatusUpdate", route, OK),
        ("location PM", &pm1, "userNumberDelete", id(admin), "NUMBER_IN_USE"),
    ] {
        user1.check(who, token, m, input, expect).await;
    }
    let read = flags(&app, &pm1, c.user1).await;
    assert_eq!(flag(&read, admin, "deletable"), false);
    assert_eq!(
        flag(&read, admin, "lockReasons"),
        json!(["PROVISIONED", "USED_BY_STATUS"])
    );
    user1
        .check("user1", &u1, "dynamicStatusDelete", id(&own_status), OK)
        .await;
    assert_eq!(flag(&flags(&app, &pm1, c.user1).await, admin, "deletable"), true);
    user1
        .check("location PM", &pm1, "userNumberDelete", id(admin), OK)
        .await;
    user1.check("user1", &u1, "userNumberDelete", id(&own_number), OK).await;
}

backend_tests!(
    client_profiles_by_role,
    a_user_cannot_choose_their_own_profile,
    deletable_and_editable_follow_the_caller,
);
