//! `reach serve --demo`: fills an empty database with one account of each platform, locations,
//! access numbers and users of every profile tier and role — all in one transaction — and mints
//! a token per persona.

mod plan;
mod walkthrough;

use entity::account;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};

use crate::service::GivenId;
use crate::{
    db::{self, Db},
    policy::Principal,
    service::{
        ServiceError,
        directory::{self, NewAccount, UserFields},
        remote::{self, NumberInput},
    },
    state::AppState,
};
use plan::plan;
use walkthrough::{GRAPHIQL_QUERY, walkthrough_variables};

/// One persona and its token.
#[derive(Clone, Debug)]
pub struct Persona {
    /// Who it is, e.g. "Decision Maker, Northwind Traders".
    pub label: String,
    /// Who it is as GraphiQL's persona picker shows it, e.g. "Dana Decider — Decision Maker,
    /// Northwind Traders".
    pub who: String,
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
                ringing: Default::default(),
            };
            remote::create_number(db, &support, cfg, Some(GivenId::Key(users[*index].id)), fields)
                .await
                .map_err(seed_err)?;
        }
        if plan.platform == entity::Platform::MxOne {
            office_hours(db, &support, cfg, &account, &users).await?;
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

/// The MX-ONE account's schedules (issue 21 §2): Stockholm time, this Christmas and New Year as
/// holidays, and Hanna's statuses on office hours: "Available" on weekdays 08:00–17:00 (not on
/// holidays), "Away" the rest of the time.
async fn office_hours(
    db: &impl Db,
    support: &Principal,
    cfg: &remote::RemoteSettings,
    account: &account::Model,
    users: &[entity::user::Model],
) -> anyhow::Result<()> {
    use remote::schedule::{self, HolidayInput, Holidays, RuleInput, ScheduleInput};
    let now = chrono::Utc::now();
    schedule::set_account_time_zone(db, support, Some(account.id), "Europe/Stockholm", now)
        .await
        .map_err(seed_err)?;
    let year = chrono::Datelike::year(&now);
    let holidays = [
        (format!("{year}-12-24"), "Christmas Eve"),
        (format!("{year}-12-25"), "Christmas Day"),
        (format!("{}-01-01", year + 1), "New Year's Day"),
    ]
    .map(|(date, name)| HolidayInput {
        date,
        name: name.into(),
    });
    schedule::set_holidays(db, support, Some(account.id), &holidays, now)
        .await
        .map_err(seed_err)?;
    let Some(hanna) = users
        .iter()
        .find(|u| u.email.as_deref() == Some("hanna@contoso.example"))
    else {
        return Ok(());
    };
    let statuses = remote::statuses_of_users(db, &[hanna.id]).await?;
    let named = |name: &str| {
        statuses
            .get(&hanna.id)
            .into_iter()
            .flatten()
            .find(|s| s.name == name)
            .map(|s| s.id)
    };
    let office = ScheduleInput {
        rules: vec![RuleInput {
            days: vec![0, 1, 2, 3, 4],
            start: "08:00".into(),
            end: "17:00".into(),
            holidays: Holidays::Skip,
        }],
        ..Default::default()
    };
    let rest = ScheduleInput {
        fallback: true,
        ..Default::default()
    };
    for (status, schedule) in [(named("Available"), office), (named("Away"), rest)] {
        if status.is_some() {
            schedule::set_schedule(db, support, cfg, status, Some(schedule), now)
                .await
                .map_err(seed_err)?;
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
        who: "Support".into(),
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
                who: format!("{} — {}, {}", seed.name, seed.persona.unwrap_or("User"), plan.name),
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
