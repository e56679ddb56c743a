//! The reads bench's data, seeded through the service layer as Reach's own requests would write
//! it, then `ANALYZE`d (PostgreSQL: `VACUUM ANALYZE`).
//!
//! - "Bench Corp" (MiCloud Connect): `users` users in ten locations, every one enabled for
//!   mobility; a Decision Maker and a Phone Manager of one location among them. Names come from
//!   common first and last names ("Smith" for 8 % of users); phone numbers, extensions and
//!   mobility extensions use the digits 0–8 only, except one user's phone number, so that the
//!   common search `smith` and the rare search `9999` (exactly 1 match) hold for any `users`.
//! - "Eligible Co" (MiCloud Connect): `users / 10` users over the four phone profiles, a third of
//!   the eligible ones enabled: the wizard's `eligibleUsers`.
//! - "Remote Co" (MX-ONE): `users / 10` users, each with the 6 default dynamic statuses; the
//!   first 100 with 3 numbers each, and one (the "screen user") with 30 numbers and 10 statuses.
//! - `users / 50` more accounts, for Support's `accounts`.

use api::{
    config::Settings,
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        mobility::{self, Activation, EnableRow},
        remote::{NumberInput, StatusInput, create_number, create_status},
    },
};
use entity::{PhoneProfile, Platform, Presence, Role};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use uuid::Uuid;

/// Rows per import and per enable: the services' batch limit.
const BATCH: usize = 1_000;

const FIRST: [&str; 40] = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Mohammed",
    "Fatima",
    "Wei",
    "Yuki",
    "José",
    "Chloé",
    "Zoë",
    "Åsa",
    "Björn",
    "Søren",
    "Anna",
    "Lars",
    "Priya",
    "Rahul",
    "Olga",
    "Ivan",
    "Aoife",
    "Seán",
    "Nour",
    "Omar",
];

/// No other name contains "smith".
const LAST: [&str; 36] = [
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
];

const LOCATIONS: [&str; 10] = [
    "Stockholm",
    "London",
    "Dublin",
    "Toronto",
    "Austin",
    "Berlin",
    "Madrid",
    "Tokyo",
    "Sydney",
    "Nairobi",
];

/// The common search: the last name of 8 % of users.
pub const COMMON: &str = "smith";
/// The rare search: one user's phone number holds it, no other text does.
pub const RARE: &str = "9999";

/// What the workloads need to know of the seeded data.
pub struct World {
    /// Bench Corp.
    pub account: Uuid,
    /// A Decision Maker of Bench Corp.
    pub dm: Uuid,
    /// A Phone Manager of Bench Corp's first location.
    pub location_pm: Uuid,
    /// That location.
    pub location: Uuid,
    /// Eligible Co.
    pub eligible_account: Uuid,
    /// A Decision Maker of Eligible Co.
    pub eligible_dm: Uuid,
    /// The Remote Co user whose own screen is read.
    pub screen_user: Uuid,
    /// Other Remote Co users (up to 32), each with the default statuses: the mixed workload's
    /// clients, one user each.
    pub remote_users: Vec<Uuid>,
}

/// A well-mixed 64-bit hash of `i` (splitmix64), so names do not follow creation order.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` written with the digits 0–8 (base 9), `width` digits at least.
fn base9(mut n: u64, width: usize) -> String {
    let mut digits = Vec::new();
    while n > 0 || digits.len() < width {
        digits.push(char::from(b'0' + (n % 9) as u8));
        n /= 9;
    }
    digits.iter().rev().collect()
}

/// The `i`-th user of an account seeded with `salt`: name, email, phone number, extension.
fn person(i: usize, salt: u64, rare: Option<usize>) -> (String, String, String, String) {
    let h = mix(i as u64 ^ salt);
    let first = FIRST[(h % FIRST.len() as u64) as usize];
    let last = if i % 25 < 2 {
        "Smith"
    } else {
        LAST[((h >> 20) % LAST.len() as u64) as usize]
    };
    let email = format!("{}.{i}@example.com", last.to_lowercase());
    // A permutation of 0..9^7 (7,919 is prime to 9): distinct numbers that look random.
    let phone = if rare == Some(i) {
        format!("+1555{RARE}123")
    } else {
        format!("+1555{}", base9((i as u64 * 7_919 + 12_345) % 4_782_969, 7))
    };
    (
        format!("{first} {last}"),
        email,
        phone,
        format!("2{}", base9(i as u64, 6)),
    )
}

/// The mobility extension of the `i`-th user: `6…`, never one of the `2…` user extensions.
fn mobility_extension(i: usize) -> String {
    format!("6{}", base9(i as u64, 6))
}

async fn account(db: &DatabaseConnection, s: &Principal, name: &str, platform: Platform) -> Uuid {
    let new = NewAccount {
        name: name.into(),
        platform,
        destination_codes: None,
        extension_length: None,
    };
    directory::create_account(db, s, new).await.unwrap().id
}

/// Imports `count` users into `account` (locations by index where given); returns their ids.
async fn import(
    db: &DatabaseConnection,
    settings: &Settings,
    account: Uuid,
    count: usize,
    salt: u64,
    rare: Option<usize>,
    locations: &[Uuid],
) -> Vec<Uuid> {
    let s = Principal::Support { name: "bench".into() };
    let profiles = [
        PhoneProfile::Essentials,
        PhoneProfile::Premier,
        PhoneProfile::Elite,
        PhoneProfile::Basic,
    ];
    let mut ids = Vec::with_capacity(count);
    for start in (0..count).step_by(BATCH) {
        let rows = (start..count.min(start + BATCH))
            .map(|i| {
                let (name, email, phone, extension) = person(i, salt, rare);
                UserFields {
                    location_id: (!locations.is_empty())
                        .then(|| api::service::GivenId::Key(locations[i % locations.len()])),
                    name,
                    email: Some(email),
                    phone_number: Some(phone),
                    extension,
                    // Bench Corp: eligible profiles only, as all its users are enabled.
                    phone_profile: profiles[i % if salt == 0 { 3 } else { 4 }],
                }
            })
            .collect();
        let users = directory::import_users(db, &s, &settings.remote_extension, Some(account), rows)
            .await
            .unwrap();
        ids.extend(users.into_iter().map(|u| u.id));
    }
    ids
}

/// Activates Connect for Mobile on `account` and enables `users` (with the `i`-th user's
/// mobility extension).
async fn enable(db: &DatabaseConnection, settings: &Settings, account: Uuid, users: &[(usize, Uuid)]) {
    let s = Principal::Support { name: "bench".into() };
    let access = directory::create_access_number(db, &s, Some(account), "+15550001000", "Main")
        .await
        .unwrap();
    let activation = Activation {
        confirm_purchase: true,
        voicemail_access_number: "8991".into(),
        access_number_id: Some(access.id),
        ..Default::default()
    };
    mobility::activate(db, &s, &settings.mobility, Some(account), activation)
        .await
        .unwrap();
    mobility::complete_activation(db, &s, Some(account), "mr1.example.net", "bench")
        .await
        .unwrap();
    for chunk in users.chunks(BATCH) {
        let rows = chunk
            .iter()
            .map(|&(i, id)| EnableRow {
                user_id: Some(id),
                mobility_extension: mobility_extension(i),
            })
            .collect();
        mobility::enable_users(db, &s, Some(account), rows, false)
            .await
            .unwrap();
    }
}

/// Numbers and statuses for Remote Co's users; returns the screen user.
async fn remote_extension(db: &DatabaseConnection, settings: &Settings, users: &[Uuid]) -> Uuid {
    let s = Principal::Support { name: "bench".into() };
    let cfg = &settings.remote_extension;
    let number = |label: String, number: String, remote: bool| NumberInput {
        label: Some(label),
        number,
        is_remote_extension: remote,
        call_through: false,
        origin: None,
        ringing: Default::default(),
    };
    let screen = users[0];
    // Remote extensions are digits after a destination code ("0"); other numbers may hold a `+`.
    for k in 0..30 {
        let n = if k % 3 == 0 {
            number(format!("Phone {k:02}"), format!("004670{k:06}"), true)
        } else {
            number(format!("Phone {k:02}"), format!("+4670{k:07}"), false)
        };
        create_number(db, &s, cfg, Some(api::service::GivenId::Key(screen)), n)
            .await
            .unwrap();
    }
    let presences = [
        Presence::Available,
        Presence::Busy,
        Presence::Away,
        Presence::InAMeeting,
    ];
    for (k, presence) in presences.into_iter().enumerate() {
        let status = StatusInput {
            name: format!("Custom {k}"),
            presence,
            message: Some(format!("Back at {}:00", 9 + k)),
            remote_extension_id: None,
            targets: [None, None, None, None],
            origin: None,
        };
        create_status(db, &s, cfg, Some(api::service::GivenId::Key(screen)), status)
            .await
            .unwrap();
    }
    for (u, &user) in users.iter().enumerate().skip(1).take(100) {
        for k in 0..3 {
            let n = if k == 0 {
                number(format!("Line {k}"), format!("004671{u:05}"), true)
            } else {
                number(format!("Line {k}"), format!("+4671{u:05}{k}"), false)
            };
            create_number(db, &s, cfg, Some(api::service::GivenId::Key(user)), n)
                .await
                .unwrap();
        }
    }
    screen
}

/// Seeds the bench's data for `users` users; see the module's doc.
pub async fn seed(db: &DatabaseConnection, settings: &Settings, users: usize) -> World {
    let s = Principal::Support { name: "bench".into() };

    let bench = account(db, &s, "Bench Corp", Platform::MicloudConnect).await;
    let mut locations = Vec::new();
    for name in LOCATIONS {
        let l = directory::create_location(db, &s, Some(bench), name).await.unwrap();
        locations.push(l.id);
    }
    let ids = import(db, settings, bench, users, 0, Some(users / 2), &locations).await;
    let (dm, location_pm) = (ids[0], ids[1]);
    directory::assign_role(db, &s, Some(dm), Role::DecisionMaker, None)
        .await
        .unwrap();
    directory::assign_role(
        db,
        &s,
        Some(location_pm),
        Role::PhoneManager,
        Some(api::service::GivenId::Key(locations[0])),
    )
    .await
    .unwrap();
    let all: Vec<(usize, Uuid)> = ids.iter().copied().enumerate().collect();
    enable(db, settings, bench, &all).await;

    let eligible = account(db, &s, "Eligible Co", Platform::MicloudConnect).await;
    let ids = import(db, settings, eligible, users / 10, 1, None, &[]).await;
    directory::assign_role(db, &s, Some(ids[0]), Role::DecisionMaker, None)
        .await
        .unwrap();
    // Profiles cycle Essentials, Premier, Elite, Basic: enable a third of the eligible ones.
    let some: Vec<(usize, Uuid)> = (ids.iter().copied().enumerate())
        .filter(|(i, _)| i % 4 != 3 && i % 3 == 0)
        .collect();
    enable(db, settings, eligible, &some).await;
    let eligible_dm = ids[0];

    let remote = account(db, &s, "Remote Co", Platform::MxOne).await;
    let ids = import(db, settings, remote, users / 10, 2, None, &[]).await;
    let screen_user = remote_extension(db, settings, &ids).await;
    let remote_users: Vec<Uuid> = ids.iter().copied().filter(|u| *u != screen_user).take(32).collect();

    const WORDS: [&str; 12] = [
        "Northwind",
        "Contoso",
        "Fabrikam",
        "Globex",
        "Initech",
        "Umbrella",
        "Stark",
        "Wayne",
        "Acme",
        "Hooli",
        "Vandelay",
        "Tyrell",
    ];
    for k in 0..users / 50 {
        let h = mix(k as u64 ^ 3) as usize;
        let name = format!("{} {} {k}", WORDS[h % 12], ["Ltd", "AB", "GmbH", "Inc"][h / 12 % 4]);
        account(db, &s, &name, Platform::MicloudConnect).await;
    }
    analyze(db).await;
    World {
        account: bench,
        dm,
        location_pm,
        location: locations[0],
        eligible_account: eligible,
        eligible_dm,
        screen_user,
        remote_users,
    }
}

/// Statistics and visibility, as a maintained database has them after a bulk load: on
/// PostgreSQL `VACUUM ANALYZE`, so the visibility map is set as autovacuum would set it on a
/// live database (without it an index-only count visits every row's heap page); on SQLite
/// `ANALYZE` and `PRAGMA optimize`.
async fn analyze(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    } else {
        db.execute_unprepared("ANALYZE").await.unwrap();
        db.execute_unprepared("PRAGMA optimize").await.unwrap();
    }
}
