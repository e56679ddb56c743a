//! What the demo creates: the accounts, their locations and access numbers, and users of every
//! profile tier and role (the personas among them get a token).

use entity::{PhoneProfile, Platform, Role};

pub(super) struct SeedUser {
    pub(super) name: &'static str,
    pub(super) email: &'static str,
    pub(super) extension: &'static str,
    pub(super) phone: Option<&'static str>,
    pub(super) profile: PhoneProfile,
    pub(super) location: Option<usize>,
    pub(super) role: Option<(Role, Option<usize>)>,
    pub(super) persona: Option<&'static str>,
}

pub(super) struct SeedAccount {
    pub(super) name: &'static str,
    pub(super) platform: Platform,
    pub(super) extension_length: Option<i32>,
    pub(super) locations: &'static [&'static str],
    pub(super) access_numbers: &'static [(&'static str, &'static str)],
    pub(super) users: Vec<SeedUser>,
    /// Remote extensions an administrator provisions (MX-ONE): user index and number.
    pub(super) admin_remote_extensions: &'static [(usize, &'static str)],
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

pub(super) fn plan() -> Vec<SeedAccount> {
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
