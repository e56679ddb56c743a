//! Authorization: every decision about who may see or change what lives here, used by every
//! resolver and service. It covers the role table of SPEC §1 and the tenant rule T1: a
//! non-Support principal naming anything of another account gets exactly what an unknown id gets.

use std::fmt;

use entity::Role;
use uuid::Uuid;

/// The names Reach acts under by itself, as Support-level principals: the platform sync, the
/// sync's schedule, the creation of MX-ONE users' records, `reach sync` at the command line and
/// the webhooks plugin (an endpoint it switches off).
/// The audit log shows them as the system, and no Support token may carry one
/// (`auth::valid_support_name`).
pub const SYSTEM_NAMES: &[&str] = &["platform-sync", "schedule", "reach", "cli", "webhooks"];

/// Who is calling, with their roles as loaded from the database for this request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Support staff of the service provider.
    Support {
        /// The name on the token, for the audit trail.
        name: String,
    },
    /// A user of an account.
    User(UserPrincipal),
}

/// A user and the roles they hold now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPrincipal {
    /// The user's key.
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// The user's own location.
    pub location_id: Option<Uuid>,
    /// Roles held.
    pub roles: Vec<Grant>,
}

/// One role, account-wide (`location_id: None`) or for one location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// The location it is limited to.
    pub location_id: Option<Uuid>,
}

/// The answer to "may this principal do that to this object?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Go ahead.
    Allowed,
    /// The object is visible to the caller but the action is not theirs (`FORBIDDEN`): it is
    /// open only to these principals, whom the refusal names.
    Forbidden(Only),
    /// The caller must not learn the object exists (`NOT_FOUND`, T1).
    NotFound,
}

/// Who an action is open to, as a `FORBIDDEN` answer names them: "only {who} may …". Each
/// check below refuses with the one that matches its rule, so the message cannot drift from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// Support ([`Principal::support_only`]).
    Support,
    /// Support or a Decision Maker of the account ([`Principal::directory_admin`]).
    DecisionMakers,
    /// Support, a Decision Maker or an account-wide Phone Manager ([`Principal::account_manager`]).
    AccountManagers,
    /// Support or anyone holding a role in the account ([`Principal::user_admin`]).
    Administrators,
    /// Support or an administrator covering the user ([`Principal::admin_on_user`]).
    CoveringAdministrators,
    /// The user themself, or Support or an administrator covering them (a user's own numbers and
    /// statuses, R12).
    TheUserOrCoveringAdministrators,
}

impl Only {
    /// The principals, as a message names them.
    pub fn who(self) -> &'static str {
        match self {
            Only::Support => "Support",
            Only::DecisionMakers => "Support or a Decision Maker of the account",
            Only::AccountManagers => "Support, a Decision Maker or an account-wide Phone Manager of the account",
            Only::Administrators => "Support, a Decision Maker or a Phone Manager of the account",
            Only::CoveringAdministrators => {
                "Support or an administrator covering the user (a Decision Maker, an account-wide Phone \
                 Manager, or a Phone Manager of the user's location)"
            }
            Only::TheUserOrCoveringAdministrators => {
                "the user themself, Support, or an administrator covering the user (a Decision Maker, an \
                 account-wide Phone Manager, or a Phone Manager of the user's location)"
            }
        }
    }
}

impl fmt::Display for Only {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.who())
    }
}

/// What a policy check needs to know about a user.
#[derive(Clone, Copy, Debug)]
pub struct UserScope {
    /// The user's key.
    pub id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// The user's location.
    pub location_id: Option<Uuid>,
}

/// Which users of an account a principal may see in listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserVisibility {
    /// All users of the account.
    All,
    /// Users of these locations, and the caller.
    Locations {
        /// The locations covered.
        locations: Vec<Uuid>,
        /// The caller, always visible to themself.
        myself: Uuid,
    },
    /// Only the caller.
    Myself(Uuid),
    /// Nobody (another account).
    Nobody,
}

impl Principal {
    /// Whether this is Support.
    pub fn is_support(&self) -> bool {
        matches!(self, Principal::Support { .. })
    }

    /// The user behind the principal, if any.
    pub fn user(&self) -> Option<&UserPrincipal> {
        match self {
            Principal::User(u) => Some(u),
            Principal::Support { .. } => None,
        }
    }

    /// The actor string written to the outbox: `support:<name>` or `user:<uuid>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Support { name } => format!("support:{name}"),
            Principal::User(u) => format!("user:{}", u.user_id),
        }
    }

    /// Whether the principal may see the account at all (T1).
    pub fn sees_account(&self, account_id: Uuid) -> bool {
        match self {
            Principal::Support { .. } => true,
            Principal::User(u) => u.account_id == account_id,
        }
    }

    /// Directory changes on an account (locations, access numbers, users, roles): Support, or a
    /// Decision Maker of that account.
    pub fn directory_admin(&self, account_id: Uuid) -> Access {
        match self {
            Principal::Support { .. } => Access::Allowed,
            Principal::User(u) if u.account_id != account_id => Access::NotFound,
            Principal::User(u) if u.is_decision_maker() => Access::Allowed,
            Principal::User(_) => Access::Forbidden(Only::DecisionMakers),
        }
    }

    /// Account-level actions (activate the add-on, toggle email): Support, a Decision Maker, or
    /// an account-wide Phone Manager of that account.
    pub fn account_manager(&self, account_id: Uuid) -> Access {
        match self {
            Principal::Support { .. } => Access::Allowed,
            Principal::User(u) if u.account_id != account_id => Access::NotFound,
            Principal::User(u) if u.is_decision_maker() || u.is_account_phone_manager() => Access::Allowed,
            Principal::User(_) => Access::Forbidden(Only::AccountManagers),
        }
    }

    /// Actions only Support takes (complete an activation, change settings after it,
    /// deactivate): `FORBIDDEN` for the account's users, `NOT_FOUND` for anyone else's (T1).
    pub fn support_only(&self, account_id: Uuid) -> Access {
        match self {
            Principal::Support { .. } => Access::Allowed,
            Principal::User(u) if u.account_id != account_id => Access::NotFound,
            Principal::User(_) => Access::Forbidden(Only::Support),
        }
    }

    /// Actions on some users of an account (enable or disable mobility): Support, or anyone
    /// holding a role in the account; each user named is then checked with [`Self::admin_on_user`].
    pub fn user_admin(&self, account_id: Uuid) -> Access {
        match self {
            Principal::Support { .. } => Access::Allowed,
            Principal::User(u) if u.account_id != account_id => Access::NotFound,
            Principal::User(u) if !u.roles.is_empty() => Access::Allowed,
            Principal::User(_) => Access::Forbidden(Only::Administrators),
        }
    }

    /// Whether the principal may read this user (T1, and a plain user sees only themself).
    pub fn sees_user(&self, user: UserScope) -> bool {
        match self {
            Principal::Support { .. } => true,
            Principal::User(u) => u.account_id == user.account_id && (u.user_id == user.id || u.covers(user)),
        }
    }

    /// An administrator's action on a user (SPEC §1): allowed when the caller covers the user;
    /// `FORBIDDEN` for an administrator of the same account who does not; `NOT_FOUND` for another
    /// account or for a plain user naming someone else.
    pub fn admin_on_user(&self, user: UserScope) -> Access {
        match self {
            Principal::Support { .. } => Access::Allowed,
            Principal::User(u) if u.account_id != user.account_id => Access::NotFound,
            Principal::User(u) if u.covers(user) => Access::Allowed,
            Principal::User(u) if !u.roles.is_empty() => Access::Forbidden(Only::CoveringAdministrators),
            Principal::User(_) => Access::NotFound,
        }
    }

    /// Whether a user exists for this principal when named in an action: for Support, for
    /// administrators of the user's account, and otherwise only where the principal sees the user
    /// (a plain user: themself). Anyone else gets what an unknown id gets (SPEC §1, T1).
    pub fn knows_user(&self, user: UserScope) -> bool {
        self.admin_on_user(user) != Access::NotFound || self.sees_user(user)
    }

    /// Which users of `account_id` this principal may list.
    pub fn user_visibility(&self, account_id: Uuid) -> UserVisibility {
        match self {
            Principal::Support { .. } => UserVisibility::All,
            Principal::User(u) if u.account_id != account_id => UserVisibility::Nobody,
            Principal::User(u) if u.is_decision_maker() || u.is_account_phone_manager() => UserVisibility::All,
            Principal::User(u) => {
                let locations: Vec<Uuid> = u
                    .roles
                    .iter()
                    .filter(|g| g.role == Role::PhoneManager)
                    .filter_map(|g| g.location_id)
                    .collect();
                if locations.is_empty() {
                    UserVisibility::Myself(u.user_id)
                } else {
                    UserVisibility::Locations {
                        locations,
                        myself: u.user_id,
                    }
                }
            }
        }
    }
}

impl UserPrincipal {
    /// Holds the Decision Maker role.
    pub fn is_decision_maker(&self) -> bool {
        self.roles.iter().any(|g| g.role == Role::DecisionMaker)
    }

    /// Holds the Phone Manager role for the whole account.
    pub fn is_account_phone_manager(&self) -> bool {
        self.roles
            .iter()
            .any(|g| g.role == Role::PhoneManager && g.location_id.is_none())
    }

    /// Whether this user administers `user` (SPEC §1): a Decision Maker or account-wide Phone
    /// Manager of the account, or a Phone Manager of the user's location.
    pub fn covers(&self, user: UserScope) -> bool {
        if self.account_id != user.account_id {
            return false;
        }
        self.roles.iter().any(|g| match (g.role, g.location_id) {
            (Role::DecisionMaker, _) | (Role::PhoneManager, None) => true,
            (Role::PhoneManager, Some(location)) => user.location_id == Some(location),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(account: Uuid, location: Option<Uuid>, roles: Vec<Grant>) -> Principal {
        Principal::User(UserPrincipal {
            user_id: Uuid::new_v4(),
            account_id: account,
            location_id: location,
            roles,
        })
    }

    #[test]
    fn role_table_for_directory_and_users() {
        let (a, b, loc, other_loc) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let dm = user(
            a,
            None,
            vec![Grant {
                role: Role::DecisionMaker,
                location_id: None,
            }],
        );
        let pm = user(
            a,
            None,
            vec![Grant {
                role: Role::PhoneManager,
                location_id: None,
            }],
        );
        let pm_loc = user(
            a,
            None,
            vec![Grant {
                role: Role::PhoneManager,
                location_id: Some(loc),
            }],
        );
        let plain = user(a, Some(loc), vec![]);
        let support = Principal::Support { name: "s".into() };
        let target = UserScope {
            id: Uuid::new_v4(),
            account_id: a,
            location_id: Some(other_loc),
        };
        let in_loc = UserScope {
            location_id: Some(loc),
            ..target
        };

        assert_eq!(support.directory_admin(b), Access::Allowed);
        assert_eq!(dm.directory_admin(a), Access::Allowed);
        assert_eq!(dm.directory_admin(b), Access::NotFound); // T1
        assert_eq!(pm.directory_admin(a), Access::Forbidden(Only::DecisionMakers));
        assert_eq!(plain.directory_admin(a), Access::Forbidden(Only::DecisionMakers));

        assert_eq!(pm.account_manager(a), Access::Allowed);
        assert_eq!(pm_loc.account_manager(a), Access::Forbidden(Only::AccountManagers));

        assert_eq!(pm_loc.admin_on_user(in_loc), Access::Allowed);
        assert_eq!(
            pm_loc.admin_on_user(target),
            Access::Forbidden(Only::CoveringAdministrators)
        );
        assert_eq!(plain.admin_on_user(target), Access::NotFound);
        assert_eq!(
            dm.admin_on_user(UserScope {
                account_id: b,
                ..target
            }),
            Access::NotFound
        );

        assert!(!plain.sees_user(target));
        assert!(
            !plain.knows_user(target)
                && pm_loc.knows_user(target)
                && !dm.knows_user(UserScope {
                    account_id: b,
                    ..target
                })
        );
        assert!(pm_loc.sees_user(in_loc) && !pm_loc.sees_user(target));
        assert!(!dm.sees_user(UserScope {
            account_id: b,
            ..target
        }));
        assert_eq!(dm.user_visibility(b), UserVisibility::Nobody);
    }
}
