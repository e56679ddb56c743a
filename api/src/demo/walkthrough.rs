//! The GraphiQL walk-through the demo opens with: its operations and the ids its variables pane
//! holds.

use crate::{
    graphql::ids::{self, Kind},
    service::directory,
    state::AppState,
};

/// The ids the GraphiQL walk-through needs, as its variables pane.
pub(super) async fn walkthrough_variables(state: &AppState, account_id: uuid::Uuid) -> anyhow::Result<String> {
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder};
    let access_number = entity::access_number::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(
            &entity::access_number::Column::AccountId,
            account_id,
        ))
        .order_by_asc(entity::access_number::Column::Number)
        .one(&state.db)
        .await?;
    let user = |email: &'static str| async move {
        directory::users_by_email(&state.db, email)
            .await
            .map(|found| found.into_iter().find(|u| u.account_id == account_id))
    };
    let mut vars = serde_json::Map::new();
    vars.insert("accountId".into(), ids::encode(Kind::Account, account_id).0.into());
    if let Some(a) = access_number {
        vars.insert("accessNumberId".into(), ids::encode(Kind::AccessNumber, a.id).0.into());
    }
    for (name, email) in [("umaId", "uma@northwind.example"), ("ezraId", "ezra@northwind.example")] {
        if let Some(u) = user(email).await? {
            vars.insert(name.into(), ids::encode(Kind::User, u.id).0.into());
        }
    }
    // Filled in by the page when AddRemoteExtension and BuildStatus answer.
    vars.insert("myNumberId".into(), "run AddRemoteExtension (as Hanna) first".into());
    vars.insert("statusId".into(), "run BuildStatus (as Hanna) first".into());
    // Hanna's seeded "Available" status, to make active again at the end.
    if let Some(hanna) = directory::users_by_email(&state.db, "hanna@contoso.example")
        .await?
        .into_iter()
        .next()
    {
        let statuses = crate::service::remote::statuses_of_users(&state.db, &[hanna.id]).await?;
        if let Some(available) = statuses
            .get(&hanna.id)
            .into_iter()
            .flatten()
            .find(|s| s.name == "Available")
        {
            vars.insert(
                "availableStatusId".into(),
                ids::encode(Kind::DynamicStatus, available.id).0.into(),
            );
        }
    }
    vars.insert(
        "tomorrowMorning".into(),
        next_weekday_morning(chrono::Utc::now()).into(),
    );
    Ok(serde_json::to_string_pretty(&vars)?)
}

/// The next weekday after `now` at 09:00 Stockholm time (the demo's MX-ONE account), as RFC 3339.
fn next_weekday_morning(now: chrono::DateTime<chrono::Utc>) -> String {
    use jiff::civil::Weekday;
    let tz = crate::service::remote::schedule::zone("Europe/Stockholm");
    let mut day = tz.to_datetime(crate::service::remote::schedule::instant(now)).date();
    loop {
        day = day.tomorrow().unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            break;
        }
    }
    let at = crate::service::remote::schedule::plan::instant(&tz, day.at(9, 0, 0, 0));
    crate::service::remote::schedule::moment(at).to_rfc3339()
}

pub(super) const GRAPHIQL_QUERY: &str = r#"# Welcome to Reach (demo mode).
# Pick a persona above (or paste a token), put the cursor in an operation and press Ctrl-Enter
# (or pick one with the run button). The variables pane holds the ids the steps need, and the
# ids a step creates are filled in when it answers.
#
# Directory: Viewer, Directory, CreateUser (Support or the Decision Maker).
# Connect for Mobile, in order:
#   1. Mobility          (any Northwind token)   state, settings, defaults, eligible and enabled users
#   2. Activate          (Decision Maker)        NOT_ACTIVATED -> PENDING_SUPPORT
#   3. Complete          (Support)               PENDING_SUPPORT -> ACTIVE
#   4. EnablePreview     (Decision Maker)        the wizard's summary: a dry run, nothing written
#   5. Enable            (Decision Maker)        the same batch for real
#   6. Mobility again, with a search; EditExtension; Disable
# Remote Extension (Contoso Nordic, on MX-ONE), with the token of Hanna Holm (User):
#   7. MyNumbers         her numbers (an administrator provisioned one), statuses, profile
#   8. AddRemoteExtension  her own 09818123456 (destination code 0); its id fills myNumberId
#   9. BuildStatus       a status around it (callUsing and sendCallsTo follow it); its id fills
#                        statusId
#  10. ActivateStatus    the new active remote extension (run WatchMyStatus first in a second
#                        tab: it shows each change live, over a websocket)
#  11. CallThrough       switch call through on and watch callThroughEffective; MyNumbers again
#  12. ActivateAvailable  make her "Available" status active again
#  13. MySchedule        her office hours ("Available" on weekdays 08:00-17:00 Stockholm time,
#                        not on the account's holidays; "Away" the rest of the time) and what
#                        the schedule changes next
#  14. WhatRingsTomorrow  the routing preview for the next weekday at 09:00: the status then and
#                        why, what rings in what order with its timers, how she calls out

query Viewer {
  viewer {
    kind
    name
    user { id name extension phoneProfile }
    account { id name platform }
    roles { role location { name } }
  }
}

query Directory($accountId: ID!) {
  account(id: $accountId) {
    name
    platform
    users(first: 10) {
      totalCount
      nodes { id name email extension phoneProfile location { name } roles { role } }
      pageInfo { hasNextPage endCursor }
    }
    locations { nodes { id name } }
    accessNumbers { nodes { id number label } }
  }
}

mutation CreateUser($accountId: ID!) {
  userCreate(input: {
    accountId: $accountId
    name: "Casey Newcomer"
    email: "casey@northwind.example"
    extension: "1099"
    phoneProfile: ESSENTIALS
  }) {
    user { id name extension }
    userErrors { field message code }
  }
}

query Mobility($accountId: ID!) {
  account(id: $accountId) {
    mobility {
      state
      settings {
        voicemailAccessNumber accessNumber { number label } reverseDialNumber handoverNumber
        mobilityRouter groupName sendEmailNotification version
      }
      defaults { voicemailAccessNumber reverseDialNumber handoverNumber }
      eligibleUsers(first: 10) { nodes { id name extension phoneProfile } }
      users(first: 10, search: "50") {
        totalCount
        nodes { name phoneNumber extension mobilityExtension eligible enabledBy { name } }
      }
    }
  }
}

mutation Activate($accountId: ID!, $accessNumberId: ID!) {
  mobilityActivate(input: {
    accountId: $accountId
    confirmPurchase: true
    voicemailAccessNumber: "8991"
    accessNumberId: $accessNumberId
  }) {
    mobility { state settings { reverseDialNumber handoverNumber version } }
    userErrors { field message code }
  }
}

mutation Complete($accountId: ID!) {
  mobilityActivationComplete(input: {
    accountId: $accountId
    mobilityRouter: "mr-east-1.example.net"
    groupName: "northwind"
  }) {
    mobility { state settings { mobilityRouter groupName version } }
    userErrors { field message code }
  }
}

mutation EnablePreview($accountId: ID!, $umaId: ID!, $ezraId: ID!) {
  mobilityUsersEnable(input: {
    accountId: $accountId
    dryRun: true
    users: [{ userId: $umaId, mobilityExtension: "5004" }, { userId: $ezraId, mobilityExtension: "5007" }]
  }) {
    dryRun
    mobilityUsers { name extension mobilityExtension }
    userErrors { field message code }
  }
}

mutation Enable($accountId: ID!, $umaId: ID!, $ezraId: ID!) {
  mobilityUsersEnable(input: {
    accountId: $accountId
    users: [{ userId: $umaId, mobilityExtension: "5004" }, { userId: $ezraId, mobilityExtension: "5007" }]
  }) {
    mobilityUsers { name mobilityExtension enabledAt }
    userErrors { field message code }
  }
}

mutation EditExtension($umaId: ID!) {
  mobilityUserUpdate(input: { userId: $umaId, mobilityExtension: "5104" }) {
    mobilityUser { name mobilityExtension }
    userErrors { field message code }
  }
}

mutation Disable($accountId: ID!, $ezraId: ID!) {
  mobilityUsersDisable(input: { accountId: $accountId, userIds: [$ezraId] }) {
    users { name mobility { mobilityExtension } }
    userErrors { field message code }
  }
}

query MyNumbers {
  me {
    name
    canAddRemoteExtension
    canAddStatus
    clientProfile { name allowUsersAddStatus callThroughAllowed }
    numbers(first: 20) {
      nodes {
        id label number isRemoteExtension origin locked lockReasons deletable
        callThrough callThroughEffective callThroughInactiveReason
      }
    }
    activeStatus { name presence }
    activeRemoteExtension { label number }
    dynamicStatuses {
      id name presence origin isActive editable
      remoteExtension { number }
      callUsing { kind number { number } }
      sendCallsTo { kind number { number } }
    }
  }
}

mutation AddRemoteExtension {
  userNumberCreate(input: { label: "Home office", number: "09818123456", isRemoteExtension: true }) {
    userNumber { id label number isRemoteExtension origin }
    userErrors { field message code }
  }
}

mutation BuildStatus($myNumberId: ID!) {
  dynamicStatusCreate(input: {
    name: "Working from home"
    presence: AVAILABLE
    message: "Call my home office"
    remoteExtensionId: $myNumberId
  }) {
    dynamicStatus {
      id name isActive remoteExtension { number }
      callUsing { kind number { number } }
      sendCallsTo { kind number { number } }
      whenBusy { kind }
      ifNoAnswer { kind }
    }
    userErrors { field message code }
  }
}

mutation ActivateStatus($statusId: ID!) {
  dynamicStatusActivate(input: { id: $statusId }) {
    dynamicStatus { name isActive user { activeRemoteExtension { label number } } }
    userErrors { field message code }
  }
}

subscription WatchMyStatus {
  activeStatusChanged {
    occurredAt
    changedBy { name }
    activeStatus { name presence }
    activeRemoteExtension { label number }
  }
}

mutation ActivateAvailable($availableStatusId: ID!) {
  dynamicStatusActivate(input: { id: $availableStatusId }) {
    dynamicStatus { name isActive user { activeRemoteExtension { label number } } }
    userErrors { field message code }
  }
}

query MySchedule {
  me {
    timeZone
    account { timeZone holidays { date name } }
    activeStatus { name }
    activeStatusReason
    nextStatusChange { at status { name } }
    dynamicStatuses { name schedule { rules { days start end holidays } exceptions isFallback } }
  }
}

query WhatRingsTomorrow($tomorrowMorning: DateTime) {
  routingPreview(at: $tomorrowMorning) {
    at
    reason
    status { name }
    incoming {
      ring {
        target { kind number { number } }
        startsAfterSeconds answerTooSoonMs answerTooLateMs requireKeypress
      }
      whenBusy { kind }
      ifNoAnswer { kind }
    }
    outgoing {
      callUsing { kind number { number } }
      callThroughNumber { number }
      callThroughEffective
      callThroughInactiveReason
    }
  }
}

mutation CallThrough($myNumberId: ID!) {
  userNumberUpdate(input: { id: $myNumberId, callThrough: true }) {
    userNumber { number callThrough callThroughEffective callThroughInactiveReason locked lockReasons }
    userErrors { field message code }
  }
}
"#;
