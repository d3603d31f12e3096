//! Fuzzing, in CI's budget:
//! - every domain parser gets arbitrary input (proptest): it never panics, and what it accepts
//!   obeys its rule;
//! - every endpoint gets random, hostile form bodies as each kind of user (a fixed-seed
//!   generator, so a failure repeats): no answer is ever 5xx, and the books still balance.

use crate::common;

use common::{demo_login, Client, TestApp};
use proptest::prelude::*;
use zhunong::domain::account::{DisplayName, LoginId, Password};
use zhunong::domain::money::Fen;
use zhunong::domain::region::RegionCode;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn login_ids_parse_or_refuse(s in "\\PC{0,40}|[0-9+ -]{0,20}|[a-zA-Z0-9.@_-]{0,40}") {
        if let Ok(l) = LoginId::parse(&s) {
            let stored = l.as_str();
            prop_assert!(zhunong::domain::text::is_clean(stored));
            prop_assert_eq!(LoginId::parse(stored), Ok(l.clone()), "canonical forms parse to themselves");
        }
    }

    #[test]
    fn yuan_amounts_parse_into_bounded_fen(s in "\\PC{0,24}|-?[0-9,]{0,16}(\\.[0-9]{0,4})?|¥[0-9]{0,12}") {
        if let Ok(f) = Fen::parse_yuan(&s) {
            prop_assert!(f >= Fen::ZERO && f <= Fen::MAX_INPUT);
            prop_assert_eq!(Fen::parse_yuan(&f.plain_yuan()), Ok(f), "round trip");
        }
    }

    #[test]
    fn region_codes_parse_or_refuse(s in "\\PC{0,14}|[0-9]{0,13}") {
        if let Ok(r) = RegionCode::parse(&s) {
            prop_assert!(r.contains(&r));
            for a in r.ancestors() {
                prop_assert!(a.contains(&r));
            }
        }
    }

    #[test]
    fn passwords_and_names_respect_their_lengths(s in "\\PC{0,200}") {
        if Password::parse(&s).is_ok() {
            let n = s.chars().count();
            prop_assert!((Password::MIN_CHARS..=Password::MAX_CHARS).contains(&n));
        }
        if let Ok(d) = DisplayName::parse(&s) {
            prop_assert!((1..=40).contains(&d.as_str().chars().count()));
            prop_assert!(zhunong::domain::text::is_clean(d.as_str()));
        }
    }

    #[test]
    fn the_text_check_never_passes_a_control_character(s in "\\PC{0,20}[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]\\PC{0,20}") {
        prop_assert!(!zhunong::domain::text::is_clean(&s));
    }
}

on_both_backends! {
    no_endpoint_answers_5xx;
}

/// The catalogue's query, shared by the catalogue and the market page's search.
const CATALOGUE_FIELDS: &[&str] = &[
    "query[q]",
    "query[category]",
    "query[county]",
    "query[certified]",
    "query[stalled]",
    "query[monitored]",
    "query[sort]",
    "query[after]",
];

/// Every server function, with the fields it takes.
const ENDPOINTS: &[(&str, &[&str])] = &[
    ("auth/register", &["login", "password", "display_name"]),
    ("auth/register-confirm", &["login", "code"]),
    ("auth/reset-request", &["login"]),
    ("auth/reset", &["login", "code", "password"]),
    (
        "auth/change-password",
        &["current_password", "new_password"],
    ),
    ("auth/login", &["login", "password"]),
    ("auth/logout", &[]),
    ("auth/logout-all", &[]),
    ("auth/me", &[]),
    ("auth/session", &[]),
    ("home/counties", &[]),
    ("households/get", &["id"]),
    ("ledger/household", &["household_id", "after"]),
    (
        "ledger/record",
        &["household_id", "amount", "source_type", "note", "confirm"],
    ),
    ("market/catalogue", CATALOGUE_FIELDS),
    ("market/search", CATALOGUE_FIELDS),
    ("shops/shop", &["key", "after"]),
    ("shops/profile", &["key"]),
    (
        "shops/save-profile",
        &["key", "name_en", "story", "story_en"],
    ),
    ("reviews/listing", &["listing_id", "after"]),
    ("reviews/write", &["order_item_id", "rating", "body"]),
    ("reviews/reply", &["review_id", "reply"]),
    ("reviews/hide", &["review_id", "hidden"]),
    ("notices/list", &["after"]),
    ("notices/read", &["id"]),
    (
        "market/certify",
        &["listing_id", "number", "valid_from", "valid_until"],
    ),
    ("market/delete-photo", &["photo_id"]),
    ("market/editable-listing", &["id"]),
    ("market/listing", &["id"]),
    (
        "market/save-listing",
        &[
            "form[id]",
            "form[title]",
            "form[category]",
            "form[unit]",
            "form[price]",
            "form[stock]",
            "form[origin_code]",
            "form[status]",
            "form[harvest_date]",
            "form[description]",
            "form[terms_kind]",
            "form[terms]",
            "form[household_id]",
            "form[version]",
            "form[stock_was]",
        ],
    ),
    ("market/seller-desk", &["after"]),
    (
        "market/stalled",
        &["listing_id", "stalled", "reason", "quantity"],
    ),
    ("official/households", &["region", "after"]),
    ("live/list", &["after", "county"]),
    ("live/cover", &["event_id", "listing_id"]),
    ("home/county", &["code"]),
    (
        "/buy/place",
        &[
            "listing",
            "quantity",
            "event",
            "address",
            "seller",
            "method",
            "shipping_fen",
            "price_fen",
            "key",
            "invoice_title",
        ],
    ),
    (
        "orders/buy-now",
        &["listing_id", "quantity", "event_id", "address_id"],
    ),
    ("live/get", &["id"]),
    (
        "live/create",
        &[
            "title",
            "host_name",
            "county",
            "starts_at",
            "ends_at",
            "stream_url",
            "external_url",
            "host_login",
        ],
    ),
    ("live/console", &["id"]),
    ("live/feature", &["event_id", "listing_id"]),
    ("live/unfeature", &["event_id", "listing_id"]),
    ("live/status", &["event_id", "status", "replay_url"]),
    ("live/pin", &["event_id", "listing_id"]),
    (
        "live/flash",
        &[
            "event_id",
            "listing_id",
            "price",
            "seconds",
            "cap",
            "per_buyer_limit",
        ],
    ),
    ("live/report", &["id"]),
    ("orders/cancel", &["order_id"]),
    (
        "orders/checkout",
        &[
            "idempotency_key",
            "items[0][listing_id]",
            "items[0][quantity]",
            "items[1][listing_id]",
            "items[1][quantity]",
            "items[0][event_id]",
            "address_id",
            "delivery[0][seller]",
            "delivery[0][method]",
            "invoice_title",
            "invoice_tax_no",
        ],
    ),
    ("orders/confirm-payment", &["order_id", "reference"]),
    ("orders/deliver", &["order_id"]),
    ("orders/impact", &["order_id"]),
    ("orders/share-impact", &["order_id"]),
    ("orders/unshare-impact", &["order_id"]),
    ("orders/shared-impact", &["token"]),
    ("orders/mine", &[]),
    ("orders/pledge", &["institution_id"]),
    ("orders/refund", &["order_id"]),
    ("orders/ship", &["order_id", "courier", "tracking_no"]),
    ("orders/to-fulfil", &["after", "todo"]),
    ("payments/start", &["order_id", "method"]),
    ("payments/status", &["order_id"]),
    (
        "orders/quote",
        &[
            "items[0][listing_id]",
            "items[0][quantity]",
            "address_id",
            "delivery[0][seller]",
            "delivery[0][method]",
        ],
    ),
    ("delivery/regions", &["parent"]),
    ("delivery/addresses", &[]),
    (
        "delivery/save-address",
        &[
            "id",
            "recipient",
            "mobile",
            "region_code",
            "detail",
            "unit_name",
            "is_default",
        ],
    ),
    ("delivery/remove-address", &["id"]),
    ("delivery/terms", &[]),
    (
        "delivery/save-terms",
        &[
            "seller",
            "courier_fee",
            "free_above",
            "pickup_point",
            "institution_delivery",
            "dispatch_hours",
        ],
    ),
];

/// Values chosen to break parsers: edges of integers and money, markup, SQL, odd Unicode,
/// empty and long strings.
const NASTY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "3",
    "9999",
    "10000",
    "1000000",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1e309",
    "NaN",
    "0.001",
    "12.345",
    "¥1,234.56",
    "100000000",
    "100000000.01",
    "true",
    "false",
    "on",
    "[]",
    "{}",
    "null",
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    "%",
    "_",
    "\\",
    "<script>alert(1)</script>",
    "</textarea>",
    "𠀀𠀁",
    "\u{202e}evil",
    "ＡＢＣ",
    "350725",
    "350725100201",
    "999999999999",
    "1:50,2:50",
    "1:x",
    "wages",
    "sale",
    "per_unit",
    "shares",
    "on_sale",
    "draft",
    "2026-02-30",
    "2026-12-31",
    "13800138000",
    "buyer@demo.zhunong.cn",
    "123456",
    "0.9223372036854775807.-9223372036854775808",
    "1.2.3.4.5",
    "0.0.0",
];

/// A small fixed-seed generator (xorshift64*), so a failing run repeats exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn value(&mut self) -> String {
        match self.below(10) {
            0 => "x".repeat(self.below(5000)),
            1 => (self.next() as i64).to_string(),
            2 => format!("{}", self.below(40)),
            _ => NASTY[self.below(NASTY.len())].to_owned(),
        }
    }
}

mod cases {
    use super::*;

    pub async fn no_endpoint_answers_5xx(app: TestApp) {
        let mut users: Vec<Client> = vec![Client::new(&app)];
        for login in [
            "buyer@demo.zhunong.cn",
            "coop.zhenghe@demo.zhunong.cn",
            "household@demo.zhunong.cn",
            "cadre@demo.zhunong.cn",
            "gov.zhenghe@demo.zhunong.cn",
            "admin@demo.zhunong.cn",
        ] {
            users.push(demo_login(&app, login).await);
        }
        let rounds: usize = std::env::var("ZHUNONG_FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12);
        let mut rng = Rng(0x5EED_2026_1129);
        let mut sent = 0;
        for (endpoint, fields) in ENDPOINTS {
            for round in 0..rounds {
                // Ending sessions would log the other rounds out: those go anonymous.
                let user = if matches!(*endpoint, "auth/logout" | "auth/logout-all") {
                    rng.below(1)
                } else {
                    rng.below(users.len())
                };
                let mut body: Vec<(String, String)> = Vec::new();
                for f in *fields {
                    // Usually present, sometimes missing or repeated.
                    match rng.below(8) {
                        0 => {}
                        1 => {
                            body.push(((*f).to_owned(), rng.value()));
                            body.push(((*f).to_owned(), rng.value()));
                        }
                        _ => body.push(((*f).to_owned(), rng.value())),
                    }
                }
                if rng.below(4) == 0 {
                    let junk = [
                        "x",
                        "items[99999999999][quantity]",
                        "form[",
                        "query[q][]",
                        "id[]",
                    ][rng.below(5)];
                    body.push((junk.to_owned(), rng.value()));
                }
                let refs: Vec<(&str, &str)> =
                    body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                // Plain form handlers are named by their whole path.
                let path = if endpoint.starts_with('/') {
                    (*endpoint).to_owned()
                } else {
                    format!("/api/{endpoint}")
                };
                let r = users[user].post_form(&path, &refs).await;
                assert!(
                    r.status < 500 || r.status == 503,
                    "{path} round {round} as user {user} with {body:?}: {} {}",
                    r.status,
                    &r.body[..r.body.len().min(300)]
                );
                sent += 1;
            }
        }
        assert_eq!(sent, ENDPOINTS.len() * rounds);
        let c = zhunong::ledger::server::check_ledger(&app.db)
            .await
            .unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }
}
