//! Who may do what: the one place that decides, for a seller, an order, a household or a
//! region. Every server function and plain route asks here ([`require`] after loading the facts
//! with the `*_facts` helpers). A few functions still refuse early by role alone (which roles
//! may call them at all); who may act on which thing is decided only here. The rules are pure
//! functions of the
//! user and the facts ([`decide`]), tested as a role × action table below, and the README's "Who
//! may call" column is checked against [`describe`] (test `readme_matches_the_policy`).

use crate::auth::api::CurrentUser;
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::ErrorCode;

/// Everything the app lets a user do to something that belongs to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a household's income record (收入台账).
    ViewHousehold,
    /// Record wages, subsidies or other income for a household (or correct it).
    RecordIncome,
    /// List produce, edit a listing, manage its photos: act as its seller.
    SellListing,
    /// Confirm that the buyer's transfer arrived (posts the ledger).
    ConfirmPayment,
    /// Mark an order shipped.
    Ship,
    /// Refund a paid order (posts reversing rows).
    Refund,
    /// Cancel an order before payment.
    Cancel,
    /// Confirm receipt of the goods.
    ConfirmDelivery,
    /// Pay for an order (start a payment, follow its status).
    Pay,
    /// See the order's impact receipt.
    ViewImpact,
    /// Raise or clear the 滞销 (stalled) flag of a listing.
    FlagStalled,
    /// Record a 扶贫产品 certificate for a listing.
    Certify,
    /// See the households of a region.
    ViewRegion,
    /// Verify a self-report (一键报贫): visit, income against expenses, consent.
    VerifyReport,
    /// Identify a monitoring object or dismiss a report; mark a risk eliminated or reopen it;
    /// pair cadres with households (the county's decisions).
    DecideMonitoring,
    /// Log a visit (走访) to a household.
    LogVisit,
    /// Read who viewed or changed households' files.
    ViewAudit,
    /// Keep a household's file: members, assistance measures, registry import.
    EditFile,
    /// Schedule a livestream sale (县长带你买好货) in a county.
    HostEvent,
    /// Run a livestream sale: its line-up, going live and ending, the pinned product, its
    /// report.
    RunEvent,
    /// Rate and comment on an item of a delivered order (评价).
    WriteReview,
    /// Reply to a review of a listing.
    ReplyReview,
    /// Hide (or show again) a review's abusive text.
    HideReview,
    /// Share an order's impact receipt as a public link, or stop sharing it.
    ShareImpact,
    /// Write a shop's own words: its English name and its story in Chinese and English.
    EditShop,
}

impl Action {
    pub const ALL: [Action; 25] = [
        Action::ViewHousehold,
        Action::RecordIncome,
        Action::SellListing,
        Action::ConfirmPayment,
        Action::Ship,
        Action::Refund,
        Action::Cancel,
        Action::ConfirmDelivery,
        Action::Pay,
        Action::ViewImpact,
        Action::FlagStalled,
        Action::Certify,
        Action::ViewRegion,
        Action::VerifyReport,
        Action::DecideMonitoring,
        Action::LogVisit,
        Action::ViewAudit,
        Action::EditFile,
        Action::HostEvent,
        Action::RunEvent,
        Action::WriteReview,
        Action::ReplyReview,
        Action::HideReview,
        Action::ShareImpact,
        Action::EditShop,
    ];
}

/// What is known about the thing acted on. Fields that do not apply stay `None`/`false`.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The order's buyer.
    pub buyer_id: Option<i64>,
    /// The seller: a household, or an organisation (co-op, enterprise).
    pub seller_household: Option<i64>,
    pub seller_organisation: Option<i64>,
    /// The household concerned (its record), for household actions.
    pub household: Option<i64>,
    /// Where it is: the household's village, the listing's origin, or the region asked for.
    pub region: Option<RegionCode>,
    /// Whether the acting cadre is paired with the household concerned (the seller household
    /// for seller actions, the household for household actions).
    pub cadre_paired: bool,
    /// A livestream sale's host account, and who scheduled it.
    pub host_id: Option<i64>,
    pub event_creator: Option<i64>,
    /// The region of the acting co-op manager's organisation (for scheduling an event in its
    /// county).
    pub manager_region: Option<RegionCode>,
}

/// The answer: allowed, or refused with the error the caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(ErrorCode),
}

fn user_region(user: &CurrentUser) -> Option<RegionCode> {
    user.region_code
        .as_deref()
        .and_then(|c| RegionCode::parse(c).ok())
}

/// An official whose region contains the facts' region.
fn official_over(user: &CurrentUser, f: &Facts) -> bool {
    user.role == Role::Official
        && matches!((user_region(user), &f.region), (Some(scope), Some(r)) if scope.contains(r))
}

/// An official of a county (or a city or province) whose region contains the facts' region: the
/// level at which monitoring objects are identified and files are audited.
fn county_official_over(user: &CurrentUser, f: &Facts) -> bool {
    official_over(user, f)
        && user_region(user)
            .is_some_and(|r| r.level() <= crate::domain::region::RegionLevel::County)
}

/// The seller of the thing: its household, that household's paired cadre, or the manager of
/// its organisation.
fn is_seller(user: &CurrentUser, f: &Facts) -> bool {
    match user.role {
        Role::Household => f.seller_household.is_some() && f.seller_household == user.household_id,
        Role::Cadre => f.seller_household.is_some() && f.cadre_paired,
        Role::OrgManager => {
            f.seller_organisation.is_some() && f.seller_organisation == user.organisation_id
        }
        _ => false,
    }
}

fn is_buyer(user: &CurrentUser, f: &Facts) -> bool {
    f.buyer_id == Some(user.id)
}

/// Refusal for someone who is not allowed: officials learn it is outside their region.
fn deny(user: &CurrentUser) -> Decision {
    Decision::Deny(if user.role == Role::Official {
        ErrorCode::OutOfRegion
    } else {
        ErrorCode::Forbidden
    })
}

/// The rules.
pub fn decide(user: &CurrentUser, action: Action, f: &Facts) -> Decision {
    use Action::*;
    let admin = user.role == Role::Admin;
    let allowed = match action {
        ViewHousehold => {
            admin
                || official_over(user, f)
                || (user.role == Role::Household
                    && f.household.is_some()
                    && f.household == user.household_id)
                || (user.role == Role::Cadre && f.cadre_paired)
        }
        RecordIncome => admin || official_over(user, f),
        SellListing => is_seller(user, f),
        // Support may act for a seller on an order; never on the buyer's side.
        ConfirmPayment | Ship | Refund => admin || is_seller(user, f),
        // Before payment: the buyer changed their mind, or the seller cannot supply.
        Cancel => admin || is_buyer(user, f) || is_seller(user, f),
        // Only the person who received the goods says so.
        ConfirmDelivery => is_buyer(user, f),
        // The buyer pays; nobody pays for someone else's order through it.
        Pay => is_buyer(user, f),
        ViewImpact => admin || is_buyer(user, f),
        // What is published is the buyer's to decide: nobody does it for them.
        ShareImpact => is_buyer(user, f),
        FlagStalled => admin || is_seller(user, f) || official_over(user, f),
        Certify => admin || official_over(user, f),
        ViewRegion => admin || official_over(user, f),
        VerifyReport => official_over(user, f),
        DecideMonitoring => county_official_over(user, f),
        LogVisit => user.role == Role::Cadre && f.cadre_paired,
        ViewAudit => admin || county_official_over(user, f),
        EditFile => official_over(user, f),
        HostEvent => {
            admin
                || official_over(user, f)
                || (user.role == Role::OrgManager
                    && matches!((&f.region, &f.manager_region), (Some(c), Some(m)) if c.contains(m)))
        }
        RunEvent => {
            admin
                || official_over(user, f)
                || f.host_id == Some(user.id)
                || f.event_creator == Some(user.id)
        }
        // Only who bought it says how it was; the seller answers; support moderates.
        WriteReview => is_buyer(user, f),
        ReplyReview => is_seller(user, f),
        HideReview => admin,
        // A shop speaks for its seller; a village's shop for the village, so its officials
        // keep it. Support may correct any.
        EditShop => admin || is_seller(user, f) || official_over(user, f),
    };
    if allowed {
        Decision::Allow
    } else {
        deny(user)
    }
}

/// Whether `user`'s role keeps any shop [`Action::EditShop`] could allow them: buyers keep
/// none, so the shop pages skip the lookup for them and the edit refuses them before it.
pub fn may_keep_shops(user: &CurrentUser) -> bool {
    !matches!(user.role, Role::Buyer | Role::InstitutionBuyer)
}

/// Who may, in words: the README's "Who may call" column for each action's endpoints.
pub fn describe(action: Action) -> &'static str {
    use Action::*;
    match action {
        ViewHousehold => {
            "the household, its paired cadres, officials whose region contains it, admins"
        }
        RecordIncome => "officials whose region contains the household, admins",
        SellListing => {
            "the listing's seller: the household, its paired cadres, or its co-op's manager"
        }
        ConfirmPayment | Ship | Refund => {
            "the seller (household, paired cadre, co-op manager) or an admin"
        }
        Cancel => "the buyer or the seller (household, paired cadre, co-op manager), before payment; or an admin",
        ConfirmDelivery => "the buyer",
        Pay => "the buyer, while the order is unpaid",
        ViewImpact => "the buyer or an admin",
        ShareImpact => "the buyer, once the order is paid",
        FlagStalled => "the seller, officials whose region holds the listing's origin, admins",
        Certify => "officials whose region holds the listing's origin, admins",
        ViewRegion => "officials, for their own region and below; admins",
        VerifyReport => "officials whose region contains the reported village",
        DecideMonitoring => "officials of the household's county (or its city or province)",
        LogVisit => "the household's paired cadres",
        ViewAudit => "officials of the county (or its city or province); admins",
        EditFile => "officials whose region contains the household",
        HostEvent => "officials whose region contains the county, managers of a co-op or enterprise in it, admins",
        RunEvent => "the event's host and who scheduled it, officials whose region contains its county, admins",
        WriteReview => "the buyer, once the order is delivered",
        ReplyReview => "the listing's seller (household, paired cadre, co-op manager)",
        HideReview => "admins",
        EditShop => "the shop's seller (household, paired cadre, co-op manager); for a village's shop, officials whose region contains it; admins",
    }
}

/// The endpoints each action guards, as the README names them.
pub const ENDPOINTS: &[(&str, Action)] = &[
    ("/api/households/get", Action::ViewHousehold),
    ("/api/ledger/household", Action::ViewHousehold),
    ("/api/ledger/record", Action::RecordIncome),
    ("/api/market/editable-listing", Action::SellListing),
    ("/api/market/delete-photo", Action::SellListing),
    ("POST /api/market/photos", Action::SellListing),
    ("POST /api/market/new-listing", Action::SellListing),
    ("/api/orders/confirm-payment", Action::ConfirmPayment),
    ("/api/orders/ship", Action::Ship),
    ("/api/orders/refund", Action::Refund),
    ("/api/orders/cancel", Action::Cancel),
    ("/api/orders/deliver", Action::ConfirmDelivery),
    ("/api/orders/impact", Action::ViewImpact),
    ("/api/orders/share-impact", Action::ShareImpact),
    ("/api/orders/unshare-impact", Action::ShareImpact),
    ("/api/payments/start", Action::Pay),
    ("/api/payments/status", Action::Pay),
    ("/api/market/stalled", Action::FlagStalled),
    ("/api/market/certify", Action::Certify),
    ("/api/official/households", Action::ViewRegion),
    ("/api/official/dashboard", Action::ViewRegion),
    ("GET /export/{table}.csv", Action::ViewRegion),
    ("/api/monitoring/queue", Action::ViewRegion),
    ("/api/monitoring/file", Action::ViewHousehold),
    ("/api/monitoring/verify", Action::VerifyReport),
    ("/api/monitoring/identify", Action::DecideMonitoring),
    ("/api/monitoring/dismiss", Action::DecideMonitoring),
    ("/api/monitoring/exit", Action::DecideMonitoring),
    ("/api/monitoring/reopen", Action::DecideMonitoring),
    ("/api/monitoring/visit", Action::LogVisit),
    ("/api/monitoring/review", Action::LogVisit),
    ("/api/monitoring/category", Action::DecideMonitoring),
    ("/api/monitoring/audit", Action::ViewAudit),
    ("/api/monitoring/add-member", Action::EditFile),
    ("/api/monitoring/remove-member", Action::EditFile),
    ("/api/monitoring/add-measure", Action::EditFile),
    ("POST /import/households", Action::EditFile),
    ("/api/monitoring/pair-cadre", Action::DecideMonitoring),
    (
        "/api/monitoring/pair-organisation",
        Action::DecideMonitoring,
    ),
    ("/api/live/create", Action::HostEvent),
    ("/api/live/console", Action::RunEvent),
    ("/api/live/feature", Action::RunEvent),
    ("/api/live/unfeature", Action::RunEvent),
    ("/api/live/status", Action::RunEvent),
    ("/api/live/pin", Action::RunEvent),
    ("/api/live/cover", Action::RunEvent),
    ("/api/live/flash", Action::RunEvent),
    ("/api/live/report", Action::RunEvent),
    ("GET /live/{id}/report.csv", Action::RunEvent),
    ("/api/reviews/write", Action::WriteReview),
    ("/api/reviews/reply", Action::ReplyReview),
    ("/api/reviews/hide", Action::HideReview),
    ("/api/shops/profile", Action::EditShop),
    ("/api/shops/save-profile", Action::EditShop),
];

#[cfg(feature = "ssr")]
pub use load::*;

#[cfg(feature = "ssr")]
mod load {
    use super::*;
    use crate::error::AppError;
    use crate::server::db::Db;

    /// Passes when the rules allow `action`; otherwise the refusal as an error.
    pub fn require(user: &CurrentUser, action: Action, f: &Facts) -> Result<(), AppError> {
        match decide(user, action, f) {
            Decision::Allow => Ok(()),
            Decision::Deny(code) => Err(AppError::new(code)),
        }
    }

    /// Whether cadre `user_id` is paired with `household`.
    async fn paired(db: &Db, user: &CurrentUser, household: Option<i64>) -> Result<bool, AppError> {
        let (Role::Cadre, Some(h)) = (user.role, household) else {
            return Ok(false);
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cadre_pairings WHERE user_id = $1 AND household_id = $2",
        )
        .bind(user.id)
        .bind(h)
        .fetch_one(&db.pool)
        .await?;
        Ok(n > 0)
    }

    /// The facts of an order (404 if there is none).
    pub async fn order_facts(
        db: &Db,
        user: &CurrentUser,
        order_id: i64,
    ) -> Result<Facts, AppError> {
        let row: Option<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT buyer_id, seller_household_id, seller_organisation_id FROM orders WHERE id = $1",
        )
        .bind(order_id)
        .fetch_optional(&db.pool)
        .await?;
        let (buyer, household, org) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
        Ok(Facts {
            buyer_id: Some(buyer),
            ..seller_facts(db, user, household, org).await?
        })
    }

    /// The facts of a listing: its seller and origin (404 if there is none).
    pub async fn listing_facts(
        db: &Db,
        user: &CurrentUser,
        listing_id: i64,
    ) -> Result<Facts, AppError> {
        let row: Option<(Option<i64>, Option<i64>, String)> = sqlx::query_as(
            "SELECT household_id, organisation_id, origin_code FROM listings WHERE id = $1",
        )
        .bind(listing_id)
        .fetch_optional(&db.pool)
        .await?;
        let (household, org, origin) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
        Ok(Facts {
            region: RegionCode::parse(&origin).ok(),
            ..seller_facts(db, user, household, org).await?
        })
    }

    /// The facts of a household: itself and its village (404 if there is none).
    pub async fn household_facts(
        db: &Db,
        user: &CurrentUser,
        household_id: i64,
    ) -> Result<Facts, AppError> {
        let region: Option<String> =
            sqlx::query_scalar("SELECT region_code FROM households WHERE id = $1")
                .bind(household_id)
                .fetch_optional(&db.pool)
                .await?;
        let region = region.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
        Ok(Facts {
            household: Some(household_id),
            region: RegionCode::parse(&region).ok(),
            cadre_paired: paired(db, user, Some(household_id)).await?,
            ..Facts::default()
        })
    }

    /// The facts of a region (as asked for).
    pub fn region_facts(region: RegionCode) -> Facts {
        Facts {
            region: Some(region),
            ..Facts::default()
        }
    }

    /// The facts of a prospective listing: selling for `household` or `organisation`.
    /// The facts of a livestream sale: its county and host (404 if there is none).
    pub async fn event_facts(db: &Db, event_id: i64) -> Result<Facts, AppError> {
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT county_code, host_user_id, created_by FROM live_events WHERE id = $1",
        )
        .bind(event_id)
        .fetch_optional(&db.pool)
        .await?;
        let (county, host, creator) = row.ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
        Ok(Facts {
            region: RegionCode::parse(&county).ok(),
            host_id: Some(host),
            event_creator: Some(creator),
            ..Facts::default()
        })
    }

    /// The facts of scheduling an event in `county`: the county, and where the acting
    /// manager's organisation is.
    pub async fn hosting_facts(
        db: &Db,
        user: &CurrentUser,
        county: RegionCode,
    ) -> Result<Facts, AppError> {
        let manager_region = match (user.role, user.organisation_id) {
            (crate::domain::role::Role::OrgManager, Some(org)) => {
                let code: Option<String> =
                    sqlx::query_scalar("SELECT region_code FROM organisations WHERE id = $1")
                        .bind(org)
                        .fetch_optional(&db.pool)
                        .await?;
                code.and_then(|c| RegionCode::parse(&c).ok())
            }
            _ => None,
        };
        Ok(Facts {
            region: Some(county),
            manager_region,
            ..Facts::default()
        })
    }

    /// The facts of a shop: its household or organisation (as its seller), or its village.
    /// Whether it exists is the caller's to check, after the decision, so that a refusal
    /// never tells a stranger which households or organisations there are.
    pub async fn shop_facts(
        db: &Db,
        user: &CurrentUser,
        key: &crate::domain::shop::ShopKey,
    ) -> Result<Facts, AppError> {
        use crate::domain::shop::ShopKey;
        Ok(match key {
            ShopKey::Organisation(id) => seller_facts(db, user, None, Some(*id)).await?,
            ShopKey::Household(id) => seller_facts(db, user, Some(*id), None).await?,
            ShopKey::Village(code) => region_facts(code.clone()),
        })
    }

    pub async fn seller_facts(
        db: &Db,
        user: &CurrentUser,
        household: Option<i64>,
        organisation: Option<i64>,
    ) -> Result<Facts, AppError> {
        Ok(Facts {
            seller_household: household,
            seller_organisation: organisation,
            cadre_paired: paired(db, user, household).await?,
            ..Facts::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    const ME: i64 = 1;
    const MY_HOUSEHOLD: i64 = 10;
    const MY_ORG: i64 = 20;
    /// 政和县 and one of its villages; 霞浦县 elsewhere.
    const COUNTY: &str = "350725";
    const VILLAGE_IN: &str = "350725100201";
    const VILLAGE_OUT: &str = "350921100201";

    fn user(role: Role) -> CurrentUser {
        CurrentUser {
            id: ME,
            login: "x@example.cn".into(),
            display_name: "x".into(),
            role,
            region_code: match role {
                Role::Official => Some(COUNTY.into()),
                Role::Household => Some(VILLAGE_IN.into()),
                _ => None,
            },
            region_name: None,
            organisation_id: matches!(role, Role::OrgManager | Role::InstitutionBuyer)
                .then_some(MY_ORG),
            organisation_name: None,
            household_id: (role == Role::Household).then_some(MY_HOUSEHOLD),
            unread_notices: 0,
        }
    }

    /// The relation of the user to the thing acted on.
    #[derive(Debug, Clone, Copy)]
    enum Rel {
        /// Mine: my household, my organisation, paired with me, my order, in my region.
        Mine,
        /// Someone else's, elsewhere, unpaired.
        Theirs,
    }

    fn facts(role: Role, rel: Rel) -> Facts {
        let mine = matches!(rel, Rel::Mine);
        let region = RegionCode::parse(if mine { VILLAGE_IN } else { VILLAGE_OUT }).ok();
        Facts {
            buyer_id: Some(if mine { ME } else { 99 }),
            seller_household: if role == Role::OrgManager {
                None
            } else {
                Some(if mine { MY_HOUSEHOLD } else { 98 })
            },
            seller_organisation: (role == Role::OrgManager).then_some(if mine {
                MY_ORG
            } else {
                97
            }),
            household: Some(if mine { MY_HOUSEHOLD } else { 98 }),
            cadre_paired: mine && role == Role::Cadre,
            // Anyone may be invited to host; a manager's organisation is in the village.
            host_id: Some(if mine { ME } else { 99 }),
            event_creator: Some(if mine { ME } else { 99 }),
            manager_region: (mine && role == Role::OrgManager)
                .then(|| RegionCode::parse(VILLAGE_IN).ok())
                .flatten(),
            region,
        }
    }

    /// The table: for each action, the roles allowed on their own things ("mine"); nobody but
    /// an admin is allowed on someone else's.
    fn allowed_on_mine(action: Action) -> &'static [Role] {
        use Role::*;
        match action {
            ViewHousehold => &[Admin, Official, Household, Cadre],
            RecordIncome => &[Admin, Official],
            SellListing | ReplyReview => &[Household, Cadre, OrgManager],
            HideReview => &[Admin],
            ConfirmPayment | Ship | Refund => &[Admin, Household, Cadre, OrgManager],
            Cancel => &[
                Admin,
                Buyer,
                InstitutionBuyer,
                Household,
                Cadre,
                OrgManager,
                Official,
            ],
            ConfirmDelivery | Pay | WriteReview | ShareImpact => &[
                Admin,
                Buyer,
                InstitutionBuyer,
                Household,
                Cadre,
                OrgManager,
                Official,
            ],
            ViewImpact => &[
                Admin,
                Buyer,
                InstitutionBuyer,
                Household,
                Cadre,
                OrgManager,
                Official,
            ],
            FlagStalled => &[Admin, Official, Household, Cadre, OrgManager],
            Certify => &[Admin, Official],
            ViewRegion => &[Admin, Official],
            VerifyReport | DecideMonitoring | EditFile => &[Official],
            LogVisit => &[Cadre],
            ViewAudit => &[Admin, Official],
            HostEvent => &[Admin, Official, OrgManager],
            RunEvent => &Role::ALL,
            EditShop => &[Admin, Official, Household, Cadre, OrgManager],
        }
    }

    fn allowed_on_theirs(action: Action) -> &'static [Role] {
        match action {
            SellListing | ConfirmDelivery | Pay | VerifyReport | DecideMonitoring | LogVisit
            | EditFile | WriteReview | ReplyReview | ShareImpact => &[],
            _ => &[Role::Admin],
        }
    }

    #[test]
    fn role_by_action_table() {
        let mut checked = 0;
        for role in Role::ALL {
            let u = user(role);
            for action in Action::ALL {
                for (rel, table) in [
                    (Rel::Mine, allowed_on_mine(action)),
                    (Rel::Theirs, allowed_on_theirs(action)),
                ] {
                    let got = decide(&u, action, &facts(role, rel));
                    let want = table.contains(&role);
                    assert_eq!(
                        got == Decision::Allow,
                        want,
                        "{role:?} {action:?} {rel:?}: {got:?}"
                    );
                    if !want && role == Role::Official {
                        assert_eq!(got, Decision::Deny(ErrorCode::OutOfRegion));
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, Role::ALL.len() * Action::ALL.len() * 2);
    }

    #[test]
    fn a_township_official_verifies_but_only_the_county_decides() {
        let mut u = user(Role::Official);
        u.region_code = Some("350725100".into());
        let f = Facts {
            region: RegionCode::parse(VILLAGE_IN).ok(),
            ..Facts::default()
        };
        assert_eq!(decide(&u, VerifyReport, &f), Decision::Allow);
        assert_eq!(
            decide(&u, DecideMonitoring, &f),
            Decision::Deny(ErrorCode::OutOfRegion)
        );
        assert_eq!(
            decide(&u, ViewAudit, &f),
            Decision::Deny(ErrorCode::OutOfRegion)
        );
        u.region_code = Some("350000".into());
        assert_eq!(decide(&u, DecideMonitoring, &f), Decision::Allow);
    }

    #[test]
    fn an_official_sees_below_the_region_but_not_beside_or_above_it() {
        let u = user(Role::Official);
        let at = |code: &str| Facts {
            region: RegionCode::parse(code).ok(),
            ..Facts::default()
        };
        assert_eq!(decide(&u, ViewRegion, &at("350725")), Decision::Allow);
        assert_eq!(decide(&u, ViewRegion, &at(VILLAGE_IN)), Decision::Allow);
        assert_eq!(
            decide(&u, ViewRegion, &at("350700")),
            Decision::Deny(ErrorCode::OutOfRegion)
        );
        assert_eq!(
            decide(&u, ViewRegion, &at("350921")),
            Decision::Deny(ErrorCode::OutOfRegion)
        );
        assert_eq!(
            decide(&u, ViewRegion, &Facts::default()),
            Decision::Deny(ErrorCode::OutOfRegion)
        );
    }

    #[test]
    fn a_seller_may_not_confirm_the_buyers_delivery() {
        for role in [Role::Household, Role::Cadre, Role::OrgManager, Role::Admin] {
            let mut f = facts(role, Rel::Mine);
            f.buyer_id = Some(99);
            assert_ne!(
                decide(&user(role), ConfirmDelivery, &f),
                Decision::Allow,
                "{role:?}"
            );
        }
    }

    #[test]
    fn readme_matches_the_policy() {
        let readme = include_str!("../README.md");
        for (endpoint, action) in ENDPOINTS {
            let row = readme
                .lines()
                .find(|l| {
                    l.starts_with("| ")
                        && l.split('|')
                            .nth(1)
                            .is_some_and(|c| c.contains(&format!("`{endpoint}`")))
                })
                .unwrap_or_else(|| panic!("README has no row for {endpoint}"));
            let who = row
                .trim_end_matches('|')
                .rsplit('|')
                .next()
                .unwrap_or("")
                .trim();
            assert!(
                who.starts_with(describe(*action)),
                "README row of {endpoint} says {who:?}; the policy says {:?}",
                describe(*action)
            );
        }
    }
}
