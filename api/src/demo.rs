//! `reach serve --demo`: fills an empty database with one account of each platform, locations,
//! access numbers and users of every profile tier and role — all in one transaction — and mints
//! a token per persona.

use entity::{PhoneProfile, Platform, Role, account};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};

use crate::service::GivenId;
use crate::{
    db::{self, Db},
    graphql::ids::{self, Kind},
    policy::Principal,
    service::{
        ServiceError,
        directory::{self, NewAccount, UserFields},
        remote::{self, NumberInput},
    },
    state::AppState,
};

/// One persona and its token.
#[derive(Clone, Debug)]
pub struct Persona {
    /// Who it is, e.g. "Decision Maker, Northwind Traders".
    pub label: String,
    /// A bearer token for it.
    pub token: String,
}

/// What the demo holds.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// Whether this run created the directory (false: it was there already).
    pub created: bool,
    /// Tokens per persona.
    pub personas: Vec<Persona>,
    /// Operations GraphiQL opens with.
    pub graphiql_query: String,
    /// Variables GraphiQL opens with.
    pub graphiql_variables: String,
}

struct SeedUser {
    name: &'static str,
    email: &'static str,
    extension: &'static str,
    phone: Option<&'static str>,
    profile: PhoneProfile,
    location: Option<usize>,
    role: Option<(Role, Option<usize>)>,
    persona: Option<&'static str>,
}

struct SeedAccount {
    name: &'static str,
    platform: Platform,
    extension_length: Option<i32>,
    locations: &'static [&'static str],
    access_numbers: &'static [(&'static str, &'static str)],
    users: Vec<SeedUser>,
    /// Remote extensions an administrator provisions (MX-ONE): user index and number.
    admin_remote_extensions: &'static [(usize, &'static str)],
}

#[allow(clippy::too_many_arguments)]
fn u(
    name: &'static str,
    email: &'static str,
    extension: &'static str,
    phone: Option<&'static str>,
    profile: PhoneProfile,
    location: Option<usize>,
    role: Option<(Role, Option<usize>)>,
    persona: Option<&'static str>,
) -> SeedUser {
    SeedUser {
        name,
        email,
        extension,
        phone,
        profile,
        location,
        role,
        persona,
    }
}

fn plan() -> Vec<SeedAccount> {
    use PhoneProfile::*;
    vec![
        SeedAccount {
            name: "Northwind Traders",
            platform: Platform::MicloudConnect,
            extension_length: None,
            locations: &["Boston HQ", "Austin Office"],
            access_numbers: &[
                ("+16175550100", "Boston main line"),
                ("+15125550100", "Austin main line"),
            ],
            admin_remote_extensions: &[],
            users: vec![
                u(
                    "Dana Decider",
                    "dana@northwind.example",
                    "1001",
                    Some("+16175550101"),
                    Elite,
                    Some(0),
                    Some((Role::DecisionMaker, None)),
                    Some("Decision Maker"),
                ),
                u(
                    "Pat Manager",
                    "pat@northwind.example",
                    "1002",
                    Some("+16175550102"),
                    Premier,
                    Some(0),
                    Some((Role::PhoneManager, None)),
                    Some("Phone Manager (account-wide)"),
                ),
                u(
                    "Lee Local",
                    "lee@northwind.example",
                    "1003",
                    Some("+15125550103"),
                    Essentials,
                    Some(1),
                    Some((Role::PhoneManager, Some(1))),
                    Some("Phone Manager (Austin Office)"),
                ),
                u(
                    "Uma User",
                    "uma@northwind.example",
                    "1004",
                    Some("+16175550104"),
                    Essentials,
                    Some(0),
                    None,
                    Some("User"),
                ),
                u(
                    "Basil Basic",
                    "basil@northwind.example",
                    "1005",
                    None,
                    Basic,
                    Some(1),
                    None,
                    None,
                ),
                u(
                    "Olive Other",
                    "olive@northwind.example",
                    "1006",
                    None,
                    Other,
                    None,
                    None,
                    None,
                ),
                u(
                    "Ezra Elite",
                    "ezra@northwind.example",
                    "1007",
                    Some("+15125550107"),
                    Elite,
                    Some(1),
                    None,
                    None,
                ),
            ],
        },
        SeedAccount {
            name: "Contoso Nordic",
            platform: Platform::MxOne,
            extension_length: Some(4),
            locations: &["Stockholm", "Gothenburg"],
            access_numbers: &[("+46855500100", "Stockholm switchboard")],
            admin_remote_extensions: &[(3, "0701110004"), (1, "0701110002")],
            users: vec![
                u(
                    "Erik Eriksson",
                    "erik@contoso.example",
                    "2001",
                    Some("+46701110001"),
                    Elite,
                    Some(0),
                    Some((Role::DecisionMaker, None)),
                    Some("Decision Maker"),
                ),
                u(
                    "Frida Fransson",
                    "frida@contoso.example",
                    "2002",
                    Some("+46701110002"),
                    Premier,
                    Some(0),
                    Some((Role::PhoneManager, None)),
                    Some("Phone Manager (account-wide)"),
                ),
                u(
                    "Gustav Gran",
                    "gustav@contoso.example",
                    "2003",
                    Some("+46701110003"),
                    Essentials,
                    Some(1),
                    Some((Role::PhoneManager, Some(1))),
                    Some("Phone Manager (Gothenburg)"),
                ),
                u(
                    "Hanna Holm",
                    "hanna@contoso.example",
                    "2004",
                    Some("+46701110004"),
                    Essentials,
                    Some(0),
                    None,
                    Some("User"),
                ),
                u(
                    "Ingrid Ek",
                    "ingrid@contoso.example",
                    "2005",
                    None,
                    Basic,
                    Some(1),
                    None,
                    None,
                ),
                u(
                    "Johan Berg",
                    "johan@contoso.example",
                    "2006",
                    None,
                    Other,
                    None,
                    None,
                    None,
                ),
            ],
        },
    ]
}

fn seed_err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Rejected(errors) => anyhow::anyhow!("demo data refused: {errors:?}"),
        ServiceError::Db(e) => anyhow::Error::new(e).context("demo data"),
        ServiceError::Timeout => anyhow::anyhow!("demo data: timed out"),
    }
}

async fn create(db: &impl Db, cfg: &remote::RemoteSettings) -> anyhow::Result<()> {
    let support = Principal::Support { name: "demo".into() };
    for plan in plan() {
        let account = directory::create_account(
            db,
            &support,
            NewAccount {
                name: plan.name.into(),
                platform: plan.platform,
                destination_codes: None,
                extension_length: plan.extension_length,
            },
        )
        .await
        .map_err(seed_err)?;
        let mut locations = Vec::new();
        for name in plan.locations {
            locations.push(
                directory::create_location(db, &support, Some(account.id), name)
                    .await
                    .map_err(seed_err)?
                    .id,
            );
        }
        for (number, label) in plan.access_numbers {
            directory::create_access_number(db, &support, Some(account.id), number, label)
                .await
                .map_err(seed_err)?;
        }
        let rows = plan
            .users
            .iter()
            .map(|s| UserFields {
                location_id: s.location.map(|i| locations.get(i).copied().into()),
                name: s.name.into(),
                email: Some(s.email.into()),
                phone_number: s.phone.map(Into::into),
                extension: s.extension.into(),
                phone_profile: s.profile,
            })
            .collect();
        let users = directory::import_users(db, &support, cfg, Some(account.id), rows)
            .await
            .map_err(seed_err)?;
        for (index, number) in plan.admin_remote_extensions {
            let fields = NumberInput {
                label: None,
                number: (*number).into(),
                is_remote_extension: true,
                call_through: false,
                origin: Some(entity::NumberOrigin::Admin),
            };
            remote::create_number(db, &support, cfg, Some(GivenId::Key(users[*index].id)), fields)
                .await
                .map_err(seed_err)?;
        }
        for (seed, user) in plan.users.iter().zip(&users) {
            if let Some((role, location)) = seed.role {
                let location = location.map(|i| locations.get(i).copied().into());
                directory::assign_role(db, &support, Some(user.id), role, location)
                    .await
                    .map_err(seed_err)?;
            }
        }
    }
    Ok(())
}

/// Fills the directory when the database has no account yet, and mints persona tokens.
pub async fn seed(state: &AppState) -> anyhow::Result<DemoReport> {
    // One transaction: a crash midway leaves nothing, and on PostgreSQL an advisory lock makes a
    // second `serve --demo` starting at the same moment wait, then find the directory there.
    let txn = db::begin_write(&state.db).await?;
    if state.settings.is_postgres() {
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7265616368)")
            .await?;
    }
    let created = account::Entity::find().count(&txn).await? == 0;
    if created {
        create(&txn, &state.settings.remote_extension).await?;
    }
    txn.commit().await?;
    let ttl = state.settings.token_ttl_seconds;
    let mut personas = vec![Persona {
        label: "Support".into(),
        token: state.tokens.mint_support("demo", ttl)?,
    }];
    let mut first_account = None;
    for plan in plan() {
        for seed in plan.users.iter().filter(|s| s.persona.is_some()) {
            let Some(user) = directory::users_by_email(&state.db, seed.email)
                .await?
                .into_iter()
                .next()
            else {
                continue;
            };
            first_account.get_or_insert(user.account_id);
            personas.push(Persona {
                label: format!("{}, {} ({})", seed.persona.unwrap_or("User"), plan.name, seed.name),
                token: state.tokens.mint_user(user.id, ttl)?,
            });
        }
    }
    let variables = match first_account {
        Some(id) => walkthrough_variables(state, id).await?,
        None => "{}".into(),
    };
    Ok(DemoReport {
        created,
        personas,
        graphiql_query: GRAPHIQL_QUERY.into(),
        graphiql_variables: variables,
    })
}

/// The ids the GraphiQL walk-through needs, as its variables pane.
async fn walkthrough_variables(state: &AppState, account_id: uuid::Uuid) -> anyhow::Result<String> {
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
    vars.insert(
        "myNumberId".into(),
        "paste userNumber.id from AddRemoteExtension".into(),
    );
    vars.insert("statusId".into(), "paste dynamicStatus.id from BuildStatus".into());
    Ok(serde_json::to_string_pretty(&vars)?)
}

const GRAPHIQL_QUERY: &str = r#"# Welcome to Reach (demo mode).
# Paste a token printed by `reach serve --demo` into the token bar above, then pick an operation
# with the run button. The variables pane holds Northwind Traders' ids.
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
#   8. AddRemoteExtension  her own 09818123456 (destination code 0); copy its id into myNumberId
#   9. BuildStatus       a status around it (callUsing and sendCallsTo follow it); copy its id
#                        into statusId
#  10. ActivateStatus    the new active remote extension (run WatchMyStatus first in a second
#                        tab: it shows each change live, over a websocket)
#  11. CallThrough       switch call through on and watch callThroughEffective; MyNumbers again

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

mutation CallThrough($myNumberId: ID!) {
  userNumberUpdate(input: { id: $myNumberId, callThrough: true }) {
    userNumber { number callThrough callThroughEffective callThroughInactiveReason locked lockReasons }
    userErrors { field message code }
  }
}
"#;
