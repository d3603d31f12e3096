//! Orders on the server: the checkout transaction, the lifecycle, and posting to the ledger.

use super::api::{
    CartLine, CheckoutResult, ImpactReceipt, ImpactShare, OrderItemView, OrderView, PledgeStatus,
    PublicImpact, SharedLine, ORDERS_PAGE_SIZE,
};
use super::api::{CartQuote, QuoteGroup};
use crate::auth::api::CurrentUser;
use crate::auth::server::require_user;
use crate::delivery::api::AddressView;
use crate::domain::allocation::BenefitTerms;
use crate::domain::delivery::{Method, Terms};
use crate::domain::income;
use crate::domain::listing::Quantity;
use crate::domain::money::Fen;
use crate::domain::notice::NoticeKind;
use crate::domain::page::{Cursor, Page};
use crate::domain::role::Role;
use crate::domain::shop::{ImpactToken, ShareKey};
use crate::error::{AppError, ErrorCode, PriceChange};
use crate::ledger::post::{Evidence, Posting};
use crate::live::server::LivePrice;
use crate::policy::{self, Action};
use crate::server::db::{current_year, now, year_start, Db};
use crate::server::keyset::{desc, Keyset};
use crate::server::state::AppState;
use std::collections::BTreeMap;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Tells the buyer or the seller what happened to the order (the notification centre and
/// the outbox), in `tx`.
async fn notice(tx: &mut Tx, kind: NoticeKind, order_id: i64, t: i64) -> Result<(), AppError> {
    crate::notices::server::order_event(tx, kind, order_id, t).await
}

/// The most distinct listings one checkout may hold.
const MAX_LINES: usize = 50;

fn valid_key(key: &str) -> bool {
    (8..=100).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How long an unpaid order holds its stock, and how many unpaid checkouts one buyer may hold
/// at once (`ZHUNONG_ORDER_HOLD_MINUTES`, `ZHUNONG_MAX_UNPAID_CHECKOUTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub secs: i64,
    pub max_unpaid: i64,
}

impl Default for Hold {
    fn default() -> Hold {
        Hold {
            secs: 30 * 60,
            max_unpaid: 3,
        }
    }
}

/// What a checkout asks for, as a hash of its merged lines in listing order: the idempotency
/// key is bound to it, so the same key with another cart is refused rather than answered with
/// the first cart's orders.
fn request_hash(lines: &BTreeMap<i64, i64>, events: &BTreeMap<i64, i64>, delivery: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (listing, quantity) in lines {
        h.update(format!("{listing}:{quantity};").as_bytes());
        // Lines from a livestream (carts without one hash as they always did).
        if let Some(e) = events.get(listing) {
            h.update(format!("@{e};").as_bytes());
        }
    }
    h.update(delivery.as_bytes());
    hex::encode(h.finalize())
}

/// A seller: (household, organisation), exactly one of them set.
type Seller = (Option<i64>, Option<i64>);

#[derive(sqlx::FromRow)]
struct Reserved {
    price_fen: i64,
    household_id: Option<i64>,
    organisation_id: Option<i64>,
    benefit_terms: String,
    shipping_surcharge_fen: i64,
}

/// How the buyer wants the checkout delivered: the address (else the default), the method per
/// seller (else the courier), and an invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryRequest {
    pub address_id: Option<i64>,
    pub methods: BTreeMap<String, String>,
    /// The shipping the buyer was quoted, per seller.
    pub seen_shipping: BTreeMap<String, i64>,
    pub invoice_title: Option<String>,
    pub invoice_tax_no: Option<String>,
}

impl DeliveryRequest {
    pub fn new(
        address_id: Option<i64>,
        choices: Vec<super::api::DeliveryChoice>,
        invoice_title: Option<String>,
        invoice_tax_no: Option<String>,
    ) -> DeliveryRequest {
        let clean = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        DeliveryRequest {
            address_id,
            seen_shipping: choices
                .iter()
                .filter_map(|c| c.shipping_fen.map(|s| (c.seller.clone(), s)))
                .collect(),
            methods: choices.into_iter().map(|c| (c.seller, c.method)).collect(),
            invoice_title: clean(invoice_title),
            invoice_tax_no: clean(invoice_tax_no).map(|t| t.to_ascii_uppercase()),
        }
    }

    /// Checks what can be checked before anything is reserved (at most one choice per line).
    fn check(&self) -> Result<(), AppError> {
        if self.methods.len() > MAX_LINES
            || self.seen_shipping.len() > MAX_LINES
            || self.methods.values().any(|m| Method::parse(m).is_none())
        {
            return Err(AppError::new(ErrorCode::InvalidDelivery).field("delivery"));
        }
        if self
            .invoice_title
            .as_ref()
            .is_some_and(|t| t.chars().count() > 50)
        {
            return Err(AppError::new(ErrorCode::InvalidInvoice).field("invoice_title"));
        }
        if self.invoice_tax_no.as_ref().is_some_and(|t| {
            !(15..=20).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_alphanumeric())
        }) || (self.invoice_tax_no.is_some() && self.invoice_title.is_none())
        {
            return Err(AppError::new(ErrorCode::InvalidInvoice).field("invoice_tax_no"));
        }
        Ok(())
    }

    /// What the idempotency key is bound to besides the lines.
    fn fingerprint(&self) -> String {
        if *self == DeliveryRequest::default() {
            return String::new();
        }
        format!(
            "|a:{:?}|m:{:?}|s:{:?}|i:{:?}/{:?}",
            self.address_id,
            self.methods,
            self.seen_shipping,
            self.invoice_title,
            self.invoice_tax_no
        )
    }
}

/// One seller's order, priced for delivery.
struct Shipment {
    method: Method,
    terms: Terms,
    shipping: Fen,
    total: Fen,
}

/// Prices one seller's part of a checkout: the method chosen (it must be one the seller
/// offers this buyer; the courier when none was chosen), the shipping by the seller's terms,
/// and the total, at most [`Fen::MAX_ORDER`]. A method that needs an address needs one.
fn ship_plan(
    user: &CurrentUser,
    seller: Seller,
    terms: Terms,
    goods: Fen,
    bulky: Fen,
    req: &DeliveryRequest,
    address: Option<&AddressView>,
) -> Result<Shipment, AppError> {
    let key = crate::delivery::server::seller_key(seller.0, seller.1);
    let method = match req.methods.get(&key) {
        Some(m) => Method::parse(m)
            .ok_or_else(|| AppError::new(ErrorCode::InvalidDelivery).field("delivery"))?,
        None => Method::Courier,
    };
    if !terms
        .methods(user.role == Role::InstitutionBuyer)
        .contains(&method)
    {
        return Err(AppError::new(ErrorCode::InvalidDelivery).field("delivery"));
    }
    if method != Method::Pickup && address.is_none() {
        return Err(AppError::new(ErrorCode::AddressRequired).field("address_id"));
    }
    let shipping = terms
        .fee(method, goods, bulky)
        .ok_or_else(|| AppError::new(ErrorCode::LimitExceeded).field("items"))?;
    let total = goods
        .checked_add(shipping)
        .filter(|t| *t <= Fen::MAX_ORDER)
        .ok_or_else(|| AppError::new(ErrorCode::LimitExceeded).field("items"))?;
    // The seller changed the terms after the buyer saw the shipping: the buyer looks again.
    if req
        .seen_shipping
        .get(&key)
        .is_some_and(|s| *s != shipping.fen())
    {
        return Err(AppError::new(ErrorCode::PriceChanged).field("delivery"));
    }
    Ok(Shipment {
        method,
        terms,
        shipping,
        total,
    })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn checkout(
    key: &str,
    items: &[CartLine],
    req: &DeliveryRequest,
) -> Result<CheckoutResult, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let hold = Hold {
        secs: state.settings.order_hold_minutes * 60,
        max_unpaid: state.settings.max_unpaid_checkouts,
    };
    place(&state.db, &user, key, items, req, now(), hold).await
}

/// Quantities per listing, the unit prices the buyer saw, and the livestream each line came
/// from.
type MergedLines = (BTreeMap<i64, i64>, BTreeMap<i64, i64>, BTreeMap<i64, i64>);

/// Merges a cart's lines by listing, checking every quantity and the merged sums.
fn merge_lines(items: &[CartLine]) -> Result<MergedLines, AppError> {
    if items.is_empty() {
        return Err(AppError::new(ErrorCode::EmptyCart));
    }
    if items.len() > MAX_LINES {
        return Err(AppError::new(ErrorCode::BadRequest).field("items"));
    }
    let mut lines: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen_price: BTreeMap<i64, i64> = BTreeMap::new();
    let mut events: BTreeMap<i64, i64> = BTreeMap::new();
    for line in items {
        if let Some(p) = line.price_fen {
            seen_price.insert(line.listing_id, p);
        }
        if let Some(e) = line.event_id {
            events.insert(line.listing_id, e);
        }
        Quantity::new(line.quantity)
            .map_err(|_| AppError::new(ErrorCode::InvalidQuantity).field("quantity"))?;
        let q = lines.entry(line.listing_id).or_insert(0);
        *q += line.quantity;
        Quantity::new(*q)
            .map_err(|_| AppError::new(ErrorCode::InvalidQuantity).field("quantity"))?;
    }
    Ok((lines, seen_price, events))
}

/// One line priced as checkout would price it at `t`, reserving nothing: the listing's seller,
/// its unit price (a livestream's flash price while it runs and still pays the households'
/// terms; checkout also checks the cap and the buyer's limit) and its per-unit shipping
/// surcharge. 409 `listing_unavailable` when it is not on sale.
async fn price_now(
    db: &Db,
    listing_id: i64,
    event: Option<i64>,
    buyer: Option<i64>,
    qty: i64,
    t: i64,
) -> Result<(Option<i64>, Option<i64>, i64, i64), AppError> {
    // Price, household, organisation, per-unit shipping surcharge, benefit terms.
    type Row = (i64, Option<i64>, Option<i64>, i64, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT price_fen, household_id, organisation_id, shipping_surcharge_fen, benefit_terms FROM listings
          WHERE id = $1 AND status = 'on_sale'",
    )
    .bind(listing_id)
    .fetch_optional(&db.pool)
    .await?;
    let (price, h, o, surcharge, terms) =
        row.ok_or_else(|| AppError::new(ErrorCode::ListingUnavailable).field("items"))?;
    let price = match event {
        Some(e) => {
            let terms: BenefitTerms = serde_json::from_str(&terms).map_err(AppError::internal)?;
            let flash =
                crate::live::server::flash_price_at(db, e, listing_id, buyer, qty, t).await?;
            crate::live::server::flash_for_line(flash, price, qty, &terms).unwrap_or(price)
        }
        None => price,
    };
    Ok((h, o, price, surcharge))
}

/// Prices the cart as `place` would, without reserving anything.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn quote(items: &[CartLine], req: &DeliveryRequest) -> Result<CartQuote, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    req.check()?;
    let (lines, _, events) = merge_lines(items)?;
    let address = crate::delivery::server::address_for(db, user.id, req.address_id).await?;
    let t = now();
    let mut by_seller: BTreeMap<Seller, (Fen, Fen)> = BTreeMap::new();
    for (&listing_id, &qty) in &lines {
        let (h, o, price, surcharge) = price_now(
            db,
            listing_id,
            events.get(&listing_id).copied(),
            Some(user.id),
            qty,
            t,
        )
        .await?;
        let e = by_seller.entry((h, o)).or_insert((Fen::ZERO, Fen::ZERO));
        let overflow = || AppError::new(ErrorCode::LimitExceeded).field("items");
        e.0 =
            e.0.checked_add(Fen::new(price).checked_mul(qty).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
        e.1 =
            e.1.checked_add(Fen::new(surcharge).checked_mul(qty).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
    }
    let institution = user.role == Role::InstitutionBuyer;
    let mut groups = Vec::new();
    let mut total = Fen::ZERO;
    for (seller, (goods, bulky)) in by_seller {
        let terms = crate::delivery::server::terms_of(&db.pool, seller.0, seller.1).await?;
        let s = ship_plan(&user, seller, terms, goods, bulky, req, address.as_ref());
        // A cart without an address is still priced (the courier's fee), so the buyer sees it.
        let s = match s {
            Err(e) if e.code == ErrorCode::AddressRequired => {
                let terms = crate::delivery::server::terms_of(&db.pool, seller.0, seller.1).await?;
                let shipping = terms
                    .fee(Method::Courier, goods, bulky)
                    .unwrap_or(Fen::ZERO);
                Shipment {
                    method: Method::Courier,
                    shipping,
                    total: goods.checked_add(shipping).unwrap_or(goods),
                    terms,
                }
            }
            other => other?,
        };
        let name: String = match seller {
            (_, Some(o)) => sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1").bind(o),
            (h, None) => sqlx::query_scalar("SELECT v.name || ' 农户' FROM households h JOIN regions v ON v.code = h.region_code WHERE h.id = $1").bind(h),
        }
        .fetch_one(&db.pool)
        .await?;
        total = total
            .checked_add(s.total)
            .ok_or_else(|| AppError::new(ErrorCode::LimitExceeded))?;
        groups.push(QuoteGroup {
            seller: crate::delivery::server::seller_key(seller.0, seller.1),
            seller_name: name,
            methods: s
                .terms
                .methods(institution)
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            method: s.method.as_str().to_owned(),
            goods_fen: goods.fen(),
            shipping_fen: s.shipping.fen(),
            total_fen: s.total.fen(),
            dispatch_hours: s.terms.dispatch_hours,
            pickup_point: s.terms.pickup_point.clone(),
        });
    }
    let addresses = crate::delivery::server::addresses().await?;
    Ok(CartQuote {
        groups,
        total_fen: total.fen(),
        address_id: address.map(|a| a.id),
        addresses,
        institution,
    })
}

/// Places a checkout for `user` at time `t` (the server function's body; the demo seed uses it
/// too, with dates in the past).
#[allow(clippy::too_many_arguments)]
pub async fn place(
    db: &Db,
    user: &CurrentUser,
    key: &str,
    items: &[CartLine],
    req: &DeliveryRequest,
    t: i64,
    hold: Hold,
) -> Result<CheckoutResult, AppError> {
    let key = key.trim();
    if !valid_key(key) {
        return Err(AppError::new(ErrorCode::BadRequest).field("idempotency_key"));
    }
    let (lines, seen_price, events) = merge_lines(items)?;
    req.check()?;
    let address = crate::delivery::server::address_for(db, user.id, req.address_id).await?;

    // Nobody buys what they sell: a sale to oneself would post income that no buyer paid. A
    // listing's seller never changes, so this is decided before the write lock, not in it.
    if matches!(user.role, Role::Household | Role::Cadre | Role::OrgManager) {
        for &listing_id in lines.keys() {
            let seller: Option<(Option<i64>, Option<i64>)> =
                sqlx::query_as("SELECT household_id, organisation_id FROM listings WHERE id = $1")
                    .bind(listing_id)
                    .fetch_optional(&db.pool)
                    .await?;
            let Some((household, organisation)) = seller else {
                continue; // the write answers `listing_unavailable`
            };
            let pf = policy::seller_facts(db, user, household, organisation).await?;
            if policy::decide(user, Action::SellListing, &pf) == policy::Decision::Allow {
                return Err(AppError::new(ErrorCode::OwnListing).field("items"));
            }
        }
    }
    let hash = request_hash(&lines, &events, &req.fingerprint());
    // The work in the write lock, with what it needs moved in: on SQLite it runs in the
    // batcher's task, sharing its commit with the checkouts that arrived with it.
    let placing = Placing {
        backend: db.backend,
        user: user.clone(),
        key: key.to_owned(),
        hash: hash.clone(),
        req: req.clone(),
        address: address.clone(),
        lines,
        events,
        seen_price,
        t,
        hold,
    };
    let placed = db.write(move |tx| Box::pin(reserve(tx, placing))).await?;
    let Some(checkout_id) = placed else {
        let stored: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT id, request_hash FROM checkouts WHERE buyer_id = $1 AND idempotency_key = $2",
        )
        .bind(user.id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)?;
        // No row with this key: it was the limit that refused it.
        let Some((id, stored)) = stored else {
            return Err(AppError::new(ErrorCode::TooManyUnpaid));
        };
        // Checkouts from before the hash was kept have none: they replay as before.
        if stored.is_some_and(|s| s != hash) {
            return Err(AppError::new(ErrorCode::IdempotencyKeyReused).field("idempotency_key"));
        }
        let orders = orders_where(db, "o.checkout_id = $1", id, None, MAX_LINES as i64).await?;
        return Ok(CheckoutResult {
            checkout_id: id,
            replayed: true,
            orders,
        });
    };

    tracing::info!(checkout_id, buyer = user.id, "checkout placed");
    let orders = orders_where(
        db,
        "o.checkout_id = $1",
        checkout_id,
        None,
        MAX_LINES as i64,
    )
    .await?;
    Ok(CheckoutResult {
        checkout_id,
        replayed: false,
        orders,
    })
}

/// What a checkout's work in the write lock needs, owned (it may run in another task).
struct Placing {
    backend: crate::server::db::Backend,
    user: CurrentUser,
    key: String,
    hash: String,
    req: DeliveryRequest,
    address: Option<AddressView>,
    lines: BTreeMap<i64, i64>,
    events: BTreeMap<i64, i64>,
    seen_price: BTreeMap<i64, i64>,
    t: i64,
    hold: Hold,
}

/// The checkout's writes, in the write transaction `tx` (reading only through it, and passing
/// every database error up: see [`Db::write`]): the checkout row (unless the key is
/// taken or the buyer holds the limit of unpaid checkouts: `None`), the stock reservations, one
/// order per seller with its items and their allocation to households. An error leaves nothing
/// written.
async fn reserve(tx: &mut Tx, p: Placing) -> Result<Option<i64>, AppError> {
    let Placing {
        backend,
        user,
        key,
        hash,
        req,
        address,
        lines,
        events,
        seen_price,
        t,
        hold,
    } = p;
    // One buyer's checkouts one at a time, so concurrent checkouts cannot all pass the count of
    // unpaid ones: a row lock on PostgreSQL; on SQLite the write transaction (`BEGIN
    // IMMEDIATE`) already is one for every writer.
    if backend == crate::server::db::Backend::Postgres {
        sqlx::query("UPDATE users SET login = login WHERE id = $1")
            .bind(user.id)
            .execute(&mut **tx)
            .await
            .map_err(AppError::internal)?;
    }
    // The checkout row, made only under the limit of unpaid checkouts (counted up to the limit:
    // a bounded read whatever the buyer's history, from the partial index
    // `orders_buyer_placed`) and only for a new key, in one statement.
    // SQLite is told the index: without statistics its planner takes `orders_unpaid` (status,
    // expires_at) and counts every buyer's unpaid orders, all of them, inside the write lock.
    let unpaid_orders = match backend {
        crate::server::db::Backend::Sqlite => "orders INDEXED BY orders_buyer_placed",
        crate::server::db::Backend::Postgres => "orders",
    };
    let inserted: Option<i64> = sqlx::query_scalar(&format!(
        "INSERT INTO checkouts (buyer_id, idempotency_key, request_hash, created_at)
         SELECT $1, $2, $3, $4
          WHERE (SELECT COUNT(*) FROM (SELECT DISTINCT checkout_id FROM {unpaid_orders}
                  WHERE buyer_id = $1 AND status = 'placed' AND expires_at > $4 LIMIT $5) unpaid) < $5
         ON CONFLICT (buyer_id, idempotency_key) DO NOTHING RETURNING id"
    ))
    .bind(user.id)
    .bind(key)
    .bind(&hash)
    .bind(t)
    .bind(hold.max_unpaid)
    .fetch_optional(&mut **tx)
    .await
    .map_err(AppError::internal)?;
    let Some(checkout_id) = inserted else {
        return Ok(None);
    };

    // Reserve stock with a conditional update, listing by listing (in id order).
    let mut by_seller: BTreeMap<Seller, Vec<(i64, i64, Reserved, LivePrice)>> = BTreeMap::new();
    for (&listing_id, &qty) in &lines {
        let row: Option<Reserved> = sqlx::query_as(
            "UPDATE listings
                SET stock = stock - $1,
                    status = CASE WHEN stock - $1 = 0 THEN 'sold_out' ELSE status END,
                    updated_at = $2
              WHERE id = $3 AND status = 'on_sale' AND stock >= $1
          RETURNING price_fen, household_id, organisation_id, benefit_terms, shipping_surcharge_fen",
        )
        .bind(qty)
        .bind(t)
        .bind(listing_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(AppError::internal)?;
        let Some(mut r) = row else {
            let now: Option<(String, i64)> =
                sqlx::query_as("SELECT status, stock FROM listings WHERE id = $1")
                    .bind(listing_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(AppError::internal)?;
            // The error rolls every reservation (and the checkout) back.
            return Err(match now {
                // The buyer is told how many are left, to order that many instead.
                Some((status, left)) if status == "on_sale" && left > 0 => {
                    AppError::out_of_stock_left(left)
                }
                Some((status, _)) if status == "on_sale" || status == "sold_out" => {
                    AppError::new(ErrorCode::OutOfStock)
                }
                _ => AppError::new(ErrorCode::ListingUnavailable),
            }
            .field("items"));
        };
        let terms: BenefitTerms =
            serde_json::from_str(&r.benefit_terms).map_err(AppError::internal)?;
        // From a livestream: its flash price while the flash sale runs (reserving a unit of its
        // cap, within the buyer's limit), and the event the order will carry.
        let live = match events.get(&listing_id) {
            Some(&e) => {
                let line = crate::live::server::EventLine {
                    event: e,
                    listing: listing_id,
                    buyer: user.id,
                    qty,
                    normal_price: r.price_fen,
                    terms: &terms,
                    seen: seen_price.get(&listing_id).copied(),
                };
                crate::live::server::price_line(tx, line, t).await?
            }
            None => LivePrice::default(),
        };
        if let Some(p) = live.flash_price_fen {
            r.price_fen = p;
        }
        if let Some(&seen) = seen_price.get(&listing_id) {
            if seen != r.price_fen {
                // The error rolls every reservation (and the checkout) back.
                let mut e = AppError::new(ErrorCode::PriceChanged).field("items");
                e.price_change = Some(PriceChange {
                    listing_id,
                    price_fen: r.price_fen,
                });
                return Err(e);
            }
        }
        by_seller
            .entry((r.household_id, r.organisation_id))
            .or_default()
            .push((listing_id, qty, r, live));
    }

    let institution = if user.role == Role::InstitutionBuyer {
        user.organisation_id
    } else {
        None
    };
    for ((seller_household, seller_org), lines) in by_seller {
        let mut goods = Fen::ZERO;
        let mut bulky = Fen::ZERO;
        let overflow = || AppError::new(ErrorCode::LimitExceeded).field("items");
        for (_, qty, r, _) in &lines {
            let line = Fen::new(r.price_fen)
                .checked_mul(*qty)
                .ok_or_else(overflow)?;
            goods = goods.checked_add(line).ok_or_else(overflow)?;
            let surcharge = Fen::new(r.shipping_surcharge_fen)
                .checked_mul(*qty)
                .ok_or_else(overflow)?;
            bulky = bulky.checked_add(surcharge).ok_or_else(overflow)?;
        }
        let terms =
            crate::delivery::server::terms_of(&mut **tx, seller_household, seller_org).await?;
        let plan = ship_plan(
            &user,
            (seller_household, seller_org),
            terms,
            goods,
            bulky,
            &req,
            address.as_ref(),
        )?;
        // The address is copied onto the order: later edits of the book do not move it.
        let to = address.as_ref().filter(|_| plan.method != Method::Pickup);
        // The livestream the order came from (the first of its lines that came from one).
        let live_event = lines.iter().find_map(|(_, _, _, l)| l.event_id);
        let order_id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (checkout_id, buyer_id, institution_id, seller_household_id, seller_organisation_id,
                                 status, total_fen, created_at, updated_at, expires_at, shipping_fen, delivery_method,
                                 ship_recipient, ship_mobile, ship_region, ship_detail, ship_unit, pickup_point,
                                 invoice_title, invoice_tax_no, dispatch_hours, live_event_id)
             VALUES ($1, $2, $3, $4, $5, 'placed', $6, $7, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             RETURNING id",
        )
        .bind(checkout_id)
        .bind(user.id)
        .bind(institution)
        .bind(seller_household)
        .bind(seller_org)
        .bind(plan.total.fen())
        .bind(t)
        .bind(t.saturating_add(hold.secs))
        .bind(plan.shipping.fen())
        .bind(plan.method.as_str())
        .bind(to.map(|a| a.recipient.clone()))
        .bind(to.map(|a| a.mobile.clone()))
        .bind(to.map(|a| a.region_name.clone()))
        .bind(to.map(|a| a.detail.clone()))
        .bind(to.and_then(|a| a.unit_name.clone()))
        .bind(if plan.method == Method::Pickup { plan.terms.pickup_point.clone() } else { None })
        .bind(&req.invoice_title)
        .bind(&req.invoice_tax_no)
        .bind(plan.terms.dispatch_hours)
        .bind(live_event)
        .fetch_one(&mut **tx)
        .await
        .map_err(AppError::internal)?;
        for (listing_id, qty, r, live) in lines {
            let line_total = r.price_fen * qty;
            let item_id: i64 = sqlx::query_scalar(
                "INSERT INTO order_items (order_id, listing_id, quantity, unit_price_fen, line_total_fen, live_event_id, flash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(order_id)
            .bind(listing_id)
            .bind(qty)
            .bind(r.price_fen)
            .bind(line_total)
            .bind(live.event_id)
            .bind(i64::from(live.flash_price_fen.is_some()))
            .fetch_one(&mut **tx)
            .await
            .map_err(AppError::internal)?;
            let terms: BenefitTerms =
                serde_json::from_str(&r.benefit_terms).map_err(AppError::internal)?;
            let allocation = terms.allocate(Fen::new(r.price_fen), qty).map_err(|e| {
                AppError::internal(format!(
                    "listing {listing_id}: stored terms do not allocate: {e:?}"
                ))
            })?;
            for a in allocation {
                sqlx::query("INSERT INTO order_item_allocations (order_item_id, household_id, amount_fen) VALUES ($1, $2, $3)")
                    .bind(item_id)
                    .bind(a.household_id)
                    .bind(a.amount.fen())
                    .execute(&mut **tx)
                    .await
                    .map_err(AppError::internal)?;
            }
        }
        notice(tx, NoticeKind::OrderPlaced, order_id, t).await?;
    }
    Ok(Some(checkout_id))
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    checkout_id: i64,
    status: String,
    total_fen: i64,
    seller_name: String,
    buyer_name: String,
    created_at: i64,
    expires_at: Option<i64>,
    cancel_reason: Option<String>,
    paid_with: Option<String>,
    refund_due: i64,
    shipping_fen: i64,
    delivery_method: Option<String>,
    ship_recipient: Option<String>,
    ship_mobile: Option<String>,
    ship_region: Option<String>,
    ship_detail: Option<String>,
    ship_unit: Option<String>,
    pickup_point: Option<String>,
    invoice_title: Option<String>,
    invoice_tax_no: Option<String>,
    courier: Option<String>,
    tracking_no: Option<String>,
    paid_at: Option<i64>,
    shipped_at: Option<i64>,
    delivered_at: Option<i64>,
    delivered_by: Option<String>,
    dispatch_hours: Option<i64>,
}

/// How many days after shipping receipt is confirmed automatically (the setting
/// `ZHUNONG_AUTO_RECEIVE_DAYS`, read when the order is shown).
fn auto_receive_days() -> i64 {
    // Outside a request (the demo seed) there is no state: the default.
    leptos::prelude::use_context::<AppState>().map_or(10, |s| s.settings.auto_receive_days)
}

/// What the seller sees of an order that is over (delivered or refunded): the recipient's
/// name, phone and address masked.
pub fn for_seller(mut o: OrderView) -> OrderView {
    // The seller needs where it goes only while it is paid for and on its way.
    if !matches!(o.status.as_str(), "paid" | "shipped") {
        o.recipient = o
            .recipient
            .as_deref()
            .map(crate::domain::delivery::mask_name);
        o.mobile = o
            .mobile
            .as_deref()
            .map(crate::domain::delivery::mask_mobile);
        o.address = o.address.as_ref().map(|_| "***".to_owned());
    }
    o
}

/// Orders, newest first: the ordering of every list of orders.
const NEWEST_ORDERS_FIRST: Keyset = Keyset(&[desc("o.id")]);

/// One page of the orders matching a condition on `o` (one bound id), newest first, after the
/// cursor `after`.
async fn order_page(
    db: &Db,
    condition: &str,
    id: i64,
    after: Option<&str>,
) -> Result<Page<OrderView>, AppError> {
    let cursor = NEWEST_ORDERS_FIRST.parse(after)?;
    // Without a cursor, "after" the largest id is every order.
    let last = cursor.map_or(i64::MAX, |c| c.keys()[0]);
    let orders = orders_where(
        db,
        &format!("{condition} AND {}", NEWEST_ORDERS_FIRST.after(2)),
        id,
        Some(last),
        ORDERS_PAGE_SIZE + 1,
    )
    .await?;
    Ok(Page::from_rows(orders, ORDERS_PAGE_SIZE, |o| {
        Cursor::new(vec![o.id]).to_string()
    }))
}

/// Orders matching a condition on `o` with one bound id (and an optional second), newest
/// first, at most `limit`, each with its items.
async fn orders_where(
    db: &Db,
    condition: &str,
    id: i64,
    second: Option<i64>,
    limit: i64,
) -> Result<Vec<OrderView>, AppError> {
    let sql = format!(
        "SELECT o.id, o.checkout_id, o.status, o.total_fen,
                COALESCE(org.name, v.name || ' 农户') AS seller_name, u.display_name AS buyer_name, o.created_at,
                o.expires_at, o.cancel_reason, o.paid_with, o.refund_due, o.shipping_fen, o.delivery_method,
                o.ship_recipient, o.ship_mobile, o.ship_region, o.ship_detail, o.ship_unit, o.pickup_point,
                o.invoice_title, o.invoice_tax_no, o.courier, o.tracking_no, o.paid_at, o.shipped_at,
                o.delivered_at, o.delivered_by, o.dispatch_hours
           FROM orders o
           JOIN users u ON u.id = o.buyer_id
           LEFT JOIN organisations org ON org.id = o.seller_organisation_id
           LEFT JOIN households h ON h.id = o.seller_household_id
           LEFT JOIN regions v ON v.code = h.region_code
          WHERE {condition}
          ORDER BY o.id DESC
          LIMIT {limit}"
    );
    let rows = sqlx::query_as::<_, OrderRow>(&sql).bind(id);
    let rows: Vec<OrderRow> = match second {
        Some(v) => rows.bind(v),
        None => rows,
    }
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    // Every order's lines in one query, not one query an order.
    let mut items_of: BTreeMap<i64, Vec<OrderItemView>> = BTreeMap::new();
    if !rows.is_empty() {
        let marks: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT i.order_id, i.id, i.listing_id, l.title, l.title_en, l.unit, i.quantity, i.unit_price_fen, i.line_total_fen, r.rating
               FROM order_items i JOIN listings l ON l.id = i.listing_id
               LEFT JOIN listing_reviews r ON r.order_item_id = i.id
              WHERE i.order_id IN ({}) ORDER BY i.id",
            marks.join(", ")
        );
        type ItemRow = (
            i64,
            i64,
            i64,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            Option<i64>,
        );
        let mut q = sqlx::query_as::<_, ItemRow>(&sql);
        for r in &rows {
            q = q.bind(r.id);
        }
        for (
            order_id,
            item_id,
            listing_id,
            title,
            title_en,
            unit,
            quantity,
            unit_price_fen,
            line_total_fen,
            rating,
        ) in q.fetch_all(&db.pool).await.map_err(AppError::internal)?
        {
            items_of.entry(order_id).or_default().push(OrderItemView {
                item_id,
                rating,
                listing_id,
                title,
                title_en,
                unit,
                quantity,
                unit_price_fen,
                line_total_fen,
            });
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    let t = now();
    let receive_days = auto_receive_days();
    for r in rows {
        let dispatch_by = match (r.status.as_str(), r.paid_at, r.dispatch_hours) {
            ("paid", Some(p), Some(h)) => Some(p.saturating_add(h.saturating_mul(3600))),
            _ => None,
        };
        let auto_receive_at = match (r.status.as_str(), r.shipped_at) {
            ("shipped", Some(s)) => Some(s.saturating_add(receive_days * 86_400)),
            _ => None,
        };
        let address = match (&r.ship_region, &r.ship_detail) {
            (Some(region), Some(detail)) => Some(format!("{region} {detail}")),
            _ => None,
        };
        out.push(OrderView {
            id: r.id,
            checkout_id: r.checkout_id,
            status: r.status,
            total_fen: r.total_fen,
            seller_name: r.seller_name,
            buyer_name: r.buyer_name,
            created_at: r.created_at,
            expires_at: r.expires_at,
            cancel_reason: r.cancel_reason,
            paid_with: r.paid_with,
            refund_due: r.refund_due != 0,
            shipping_fen: r.shipping_fen,
            delivery_method: r.delivery_method,
            recipient: r.ship_recipient,
            mobile: r.ship_mobile,
            address,
            unit_name: r.ship_unit,
            pickup_point: r.pickup_point,
            invoice_title: r.invoice_title,
            invoice_tax_no: r.invoice_tax_no,
            courier: r.courier,
            tracking_no: r.tracking_no,
            shipped_at: r.shipped_at,
            delivered_at: r.delivered_at,
            delivered_by: r.delivered_by,
            overdue: dispatch_by.is_some_and(|d| d < t),
            dispatch_by,
            auto_receive_at,
            items: items_of.remove(&r.id).unwrap_or_default(),
        });
    }
    Ok(out)
}

pub async fn order_view(db: &Db, id: i64) -> Result<OrderView, AppError> {
    orders_where(db, "o.id = $1", id, None, 1)
        .await?
        .pop()
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

pub async fn my_orders(after: Option<&str>) -> Result<Page<OrderView>, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    order_page(&state.db, "o.buyer_id = $1", user.id, after).await
}

/// The seller's orders; with `todo`, only those that need the seller: unpaid (a transfer to
/// confirm), paid (to ship), or with a refund due.
pub async fn seller_orders(after: Option<&str>, todo: bool) -> Result<Page<OrderView>, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let (cond, id) = match user.role {
        Role::OrgManager => (
            "o.seller_organisation_id = $1",
            user.organisation_id
                .ok_or_else(|| AppError::new(ErrorCode::Forbidden))?,
        ),
        Role::Household => (
            "o.seller_household_id = $1",
            user.household_id
                .ok_or_else(|| AppError::new(ErrorCode::Forbidden))?,
        ),
        Role::Cadre => (
            "o.seller_household_id IN (SELECT household_id FROM cadre_pairings WHERE user_id = $1)",
            user.id,
        ),
        _ => return Err(AppError::new(ErrorCode::Forbidden)),
    };
    let cond = if todo {
        format!("{cond} AND (o.status IN ('placed', 'paid') OR o.refund_due = 1)")
    } else {
        cond.to_owned()
    };
    let mut page = order_page(&state.db, &cond, id, after).await?;
    page.items = page.items.into_iter().map(for_seller).collect();
    Ok(page)
}

/// The seller ships: a courier order needs the courier company and a tracking number.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ship(order_id: i64, courier: &str, tracking: &str) -> Result<OrderView, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::Ship, &facts)?;
    let method: Option<String> =
        sqlx::query_scalar("SELECT delivery_method FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&state.db.pool)
            .await?;
    let courier = courier.trim();
    let (courier, tracking) = match (courier, tracking.trim()) {
        ("", "") if method.as_deref() != Some("courier") => (None, None),
        (c, t) => {
            let c = crate::domain::delivery::COURIERS
                .iter()
                .find(|k| **k == c)
                .ok_or_else(|| AppError::new(ErrorCode::InvalidTracking).field("courier"))?;
            let t = crate::domain::delivery::tracking_number(t)
                .ok_or_else(|| AppError::new(ErrorCode::InvalidTracking).field("tracking_no"))?;
            (Some((*c).to_owned()), Some(t))
        }
    };
    ship_order(
        &state.db,
        order_id,
        courier.as_deref(),
        tracking.as_deref(),
        now(),
    )
    .await?;
    tracing::info!(order_id, by = user.id, "shipped");
    Ok(for_seller(order_view(&state.db, order_id).await?))
}

/// Marks a paid order shipped at `t` (409 if it is not paid), and tells the buyer.
pub async fn ship_order(
    db: &Db,
    order_id: i64,
    courier: Option<&str>,
    tracking: Option<&str>,
    t: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    let n = sqlx::query(
        "UPDATE orders SET status = 'shipped', courier = $1, tracking_no = $2, shipped_at = $3, updated_at = $3
          WHERE id = $4 AND status = 'paid'",
    )
    .bind(courier)
    .bind(tracking)
    .bind(t)
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    notice(&mut tx, NoticeKind::OrderShipped, order_id, t).await?;
    tx.commit().await.map_err(AppError::internal)
}

/// Marks a shipped order delivered at `t`, by the buyer or automatically (409 if it is not
/// shipped), and tells the seller.
pub async fn deliver_order(db: &Db, order_id: i64, by: &str, t: i64) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    let n = sqlx::query(
        "UPDATE orders SET status = 'delivered', delivered_at = $1, delivered_by = $2, updated_at = $1
          WHERE id = $3 AND status = 'shipped'",
    )
    .bind(t)
    .bind(by)
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    notice(&mut tx, NoticeKind::OrderDelivered, order_id, t).await?;
    tx.commit().await.map_err(AppError::internal)
}

/// The buyer confirms the goods arrived.
pub async fn deliver(order_id: i64) -> Result<OrderView, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::ConfirmDelivery, &facts)?;
    deliver_order(&state.db, order_id, "buyer", now()).await?;
    order_view(&state.db, order_id).await
}

/// Confirms receipt of orders shipped more than `days` days before `t` (at most 500 a run);
/// returns how many. Housekeeping runs it every minute.
pub async fn auto_receive(db: &Db, t: i64, days: i64) -> Result<u64, AppError> {
    let before = t.saturating_sub(days.saturating_mul(86_400));
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'shipped' AND shipped_at <= $1 ORDER BY shipped_at LIMIT 500",
    )
    .bind(before)
    .fetch_all(&db.pool)
    .await?;
    let mut received = 0;
    for id in due {
        // One at a time, each with the seller's notice; one the buyer confirmed meanwhile
        // is left as it is.
        match deliver_order(db, id, "auto", t).await {
            Ok(()) => received += 1,
            Err(e) if e.code == ErrorCode::InvalidOrderState => {}
            Err(e) => return Err(e),
        }
    }
    Ok(received)
}

/// Moves an order from one status to another if it is still in the first; false if it was not.
async fn transition(tx: &mut Tx, id: i64, from: &str, to: &str, t: i64) -> Result<bool, AppError> {
    let r =
        sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to)
            .bind(t)
            .bind(id)
            .bind(from)
            .execute(&mut **tx)
            .await
            .map_err(AppError::internal)?;
    Ok(r.rows_affected() == 1)
}

/// Marks a placed order paid (with `paid_with`: `wechat`, `alipay` or `transfer`, and the
/// payment's evidence) and posts each household's share to the ledger, in `tx`. Returns false
/// if the order was not in `placed`.
pub async fn mark_paid(
    tx: &mut Tx,
    order_id: i64,
    paid_with: &str,
    evidence: Evidence<'_>,
    confirmed_by: Option<i64>,
    t: i64,
) -> Result<bool, AppError> {
    if !transition(tx, order_id, "placed", "paid", t).await? {
        return Ok(false);
    }
    let reference = match evidence {
        Evidence::Provider(r) | Evidence::Transfer(r) => r,
    };
    sqlx::query(
        "UPDATE orders SET paid_at = $1, paid_by = $2, paid_with = $3, paid_ref = $4 WHERE id = $5",
    )
    .bind(t)
    .bind(confirmed_by)
    .bind(paid_with)
    .bind(reference)
    .bind(order_id)
    .execute(&mut **tx)
    .await
    .map_err(AppError::internal)?;
    crate::ledger::post::post_order(tx, order_id, Posting::Sale, evidence, confirmed_by, t).await?;
    // A livestream's viewers see the counters move.
    crate::live::server::touch_order_event(tx, order_id).await?;
    notice(tx, NoticeKind::OrderPaid, order_id, t).await?;
    notice(tx, NoticeKind::OrderToShip, order_id, t).await?;
    Ok(true)
}

/// Records that a payment arrived for an order no longer waiting for one (or that the refund
/// it was due is done).
pub async fn set_refund_due(tx: &mut Tx, order_id: i64, due: bool, t: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE orders SET refund_due = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(due))
        .bind(t)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refunds a paid order in `tx`: stock returns, reversing rows are posted with the refund's
/// evidence (409 if it is not paid).
pub async fn refund_paid(
    tx: &mut Tx,
    order_id: i64,
    evidence: Evidence<'_>,
    by: Option<i64>,
    t: i64,
) -> Result<(), AppError> {
    if transition(tx, order_id, "paid", "refunded", t).await? {
        // Not shipped: the units go back on sale.
        restore_stock(tx, order_id, t).await?;
    } else if !(transition(tx, order_id, "shipped", "refunded", t).await?
        || transition(tx, order_id, "delivered", "refunded", t).await?)
    {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    crate::ledger::post::post_order(tx, order_id, Posting::Reversal, evidence, by, t).await?;
    crate::live::server::touch_order_event(tx, order_id).await?;
    notice(tx, NoticeKind::OrderRefunded, order_id, t).await
}

/// Puts the order's units back on sale (a sold-out listing goes back on sale).
async fn restore_stock(tx: &mut Tx, order_id: i64, t: i64) -> Result<(), AppError> {
    let items: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT listing_id, quantity FROM order_items WHERE order_id = $1 ORDER BY listing_id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(AppError::internal)?;
    for (listing_id, qty) in items {
        sqlx::query(
            "UPDATE listings SET stock = stock + $1, status = CASE WHEN status = 'sold_out' THEN 'on_sale' ELSE status END,
                    updated_at = $2 WHERE id = $3",
        )
        .bind(qty)
        .bind(t)
        .bind(listing_id)
        .execute(&mut **tx)
        .await
        .map_err(AppError::internal)?;
    }
    // Units bought at a flash price go back under its cap.
    crate::live::server::release_flash(tx, order_id).await
}

/// The seller confirms that the buyer's bank transfer arrived, with its reference (the
/// evidence the households' income rows carry).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn confirm_payment(order_id: i64, reference: &str) -> Result<OrderView, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::ConfirmPayment, &facts)?;
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 64 {
        return Err(AppError::new(ErrorCode::TransferReferenceRequired).field("reference"));
    }
    pay_by_transfer(&state.db, order_id, reference, Some(user.id), now()).await?;
    tracing::info!(order_id, by = user.id, "transfer confirmed, ledger posted");
    Ok(for_seller(order_view(&state.db, order_id).await?))
}

/// Pays a placed order by a confirmed transfer at `t` (409 if it is not placed).
pub async fn pay_by_transfer(
    db: &Db,
    order_id: i64,
    reference: &str,
    by: Option<i64>,
    t: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    if !mark_paid(
        &mut tx,
        order_id,
        "transfer",
        Evidence::Transfer(reference),
        by,
        t,
    )
    .await?
    {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    tx.commit().await.map_err(AppError::internal)
}

/// Moves an order along at `t` (409 if it is not in `from`).
pub async fn move_order(
    db: &Db,
    order_id: i64,
    from: &str,
    to: &str,
    t: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    if !transition(&mut tx, order_id, from, to, t).await? {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    tx.commit().await.map_err(AppError::internal)
}

pub async fn cancel(order_id: i64) -> Result<OrderView, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::Cancel, &facts)?;
    let reason = if facts.buyer_id == Some(user.id) {
        "buyer"
    } else if user.role == Role::Admin {
        "admin"
    } else {
        "seller"
    };
    if !cancel_unpaid(&state.db, order_id, reason, now()).await? {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    tracing::info!(order_id, by = user.id, reason, "cancelled, stock returned");
    let view = order_view(&state.db, order_id).await?;
    Ok(if reason == "buyer" {
        view
    } else {
        for_seller(view)
    })
}

/// Cancels an order that is still unpaid, returning its stock, in one transaction; false if it
/// was no longer unpaid.
async fn cancel_unpaid(db: &Db, order_id: i64, reason: &str, t: i64) -> Result<bool, AppError> {
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    if !transition(&mut tx, order_id, "placed", "cancelled", t).await? {
        return Ok(false);
    }
    sqlx::query("UPDATE orders SET cancel_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(order_id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::internal)?;
    restore_stock(&mut tx, order_id, t).await?;
    tx.commit().await.map_err(AppError::internal)?;
    Ok(true)
}

/// Cancels the unpaid orders whose hold has run out (at most 500 a run), returning their
/// stock; returns how many. Housekeeping runs it every minute.
pub async fn expire_unpaid(db: &Db, t: i64) -> Result<u64, AppError> {
    let due: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'placed' AND expires_at <= $1 ORDER BY expires_at LIMIT 500",
    )
    .bind(t)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let mut n = 0;
    for id in due {
        // A payment confirmed meanwhile wins: the transition finds the order no longer placed.
        if cancel_unpaid(db, id, "expired", t).await? {
            n += 1;
        }
    }
    Ok(n)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn refund(order_id: i64) -> Result<OrderView, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::Refund, &facts)?;
    crate::payments::server::refund(&state, order_id, user.id).await?;
    tracing::info!(order_id, by = user.id, "refunded, reversing rows posted");
    Ok(for_seller(order_view(&state.db, order_id).await?))
}

pub async fn impact(order_id: i64) -> Result<ImpactReceipt, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::ViewImpact, &facts)?;
    let mut receipt = impact_of(&state.db, order_id, true).await?;
    let token: Option<String> =
        sqlx::query_scalar("SELECT token FROM impact_shares WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&state.db.pool)
            .await
            .map_err(AppError::internal)?;
    receipt.shared = token
        .as_deref()
        .and_then(ImpactToken::parse)
        .map(impact_share);
    Ok(receipt)
}

/// Orders whose money has reached the ledger (and not gone back).
pub const POSTED: &str = "('paid', 'shipped', 'delivered')";

fn impact_share(token: ImpactToken) -> ImpactShare {
    let key = ShareKey::Impact(token);
    ImpactShare {
        url: format!(
            "{}{}",
            crate::ui::meta::site_origin().unwrap_or_default(),
            key.short_path()
        ),
        qr: format!("{}/qr.svg", key.short_path()),
        path: key.path(),
    }
}

pub async fn share_impact(order_id: i64) -> Result<ImpactShare, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let facts = policy::order_facts(db, &user, order_id).await?;
    policy::require(&user, Action::ShareImpact, &facts)?;
    // Only what was paid shows anything: a placed order has added nothing yet.
    let posted: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM orders WHERE id = $1 AND status IN {POSTED}"
    ))
    .bind(order_id)
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    if posted == 0 {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    // The same link each time: a new token only when the order has none.
    for _ in 0..3 {
        use rand::RngCore;
        let mut bytes = [0u8; ImpactToken::LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let fresh = ImpactToken::from_random(bytes);
        sqlx::query(
            "INSERT INTO impact_shares (token, order_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(fresh.as_str())
        .bind(order_id)
        .bind(now())
        .execute(db.writer())
        .await
        .map_err(AppError::from)?;
        let token: Option<String> =
            sqlx::query_scalar("SELECT token FROM impact_shares WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&db.pool)
                .await
                .map_err(AppError::internal)?;
        if let Some(t) = token.as_deref().and_then(ImpactToken::parse) {
            return Ok(impact_share(t));
        }
    }
    // Three tokens taken by other orders in a row: 60 random bits make this unreachable.
    Err(AppError::internal("no free impact token"))
}

pub async fn unshare_impact(order_id: i64) -> Result<(), AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let facts = policy::order_facts(db, &user, order_id).await?;
    policy::require(&user, Action::ShareImpact, &facts)?;
    sqlx::query("DELETE FROM impact_shares WHERE order_id = $1")
        .bind(order_id)
        .execute(db.writer())
        .await
        .map_err(AppError::from)?;
    Ok(())
}

pub async fn shared_impact(token: &str) -> Result<PublicImpact, AppError> {
    let not_found = || AppError::new(ErrorCode::NotFound);
    let token = ImpactToken::parse(token).ok_or_else(not_found)?;
    let state = AppState::get()?;
    let db = &state.db;
    let order: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT o.id, o.created_at FROM impact_shares s JOIN orders o ON o.id = s.order_id
          WHERE s.token = $1 AND o.status IN {POSTED}"
    ))
    .bind(token.as_str())
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let (order_id, created_at) = order.ok_or_else(not_found)?;
    let r = impact_of(db, order_id, false).await?;
    let lines: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT l.id, l.title, l.title_en, i.quantity, l.unit FROM order_items i
           JOIN listings l ON l.id = i.listing_id WHERE i.order_id = $1 ORDER BY i.id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(PublicImpact {
        month: crate::server::db::date_of(created_at)
            .get(..7)
            .unwrap_or_default()
            .to_owned(),
        lines: lines
            .into_iter()
            .map(|(listing_id, title, title_en, quantity, unit)| SharedLine {
                listing_id,
                title,
                title_en,
                quantity,
                unit,
            })
            .collect(),
        total_fen: r.total_fen,
        to_households_fen: r.to_households_fen,
        households: r.households,
        villages: r.villages,
        named: r.named,
        verified: r.verified,
        share_url: impact_share(token).url,
    })
}

/// Where one order's money went (for its buyer, or as the shared receipt's figures).
/// `count_lifted`: also count the households it lifted past the monitoring line (a query per
/// household; the buyer's receipt only, never the public one).
async fn impact_of(db: &Db, order_id: i64, count_lifted: bool) -> Result<ImpactReceipt, AppError> {
    let (total, status, paid_with): (i64, String, Option<String>) =
        sqlx::query_as("SELECT total_fen, status, paid_with FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
    // Per household: its share of this order, members, village, consent.
    let rows: Vec<(i64, i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT a.household_id, CAST(SUM(a.amount_fen) AS BIGINT), h.members, v.name, h.head_name, h.story_consent
           FROM order_item_allocations a
           JOIN order_items i ON i.id = a.order_item_id
           JOIN households h ON h.id = a.household_id
           JOIN regions v ON v.code = h.region_code
          WHERE i.order_id = $1
          GROUP BY a.household_id, h.members, v.name, h.head_name, h.story_consent
          ORDER BY a.household_id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let year = current_year();
    let line = crate::server::db::monitoring_line(db, year).await?;
    let posted = matches!(status.as_str(), "paid" | "shipped" | "delivered");
    // Only a payment a provider confirmed is verified; a transfer rests on the seller's word
    // and lifts nobody past the line.
    let verified = posted && matches!(paid_with.as_deref(), Some("wechat" | "alipay"));
    let mut lifted = 0;
    let mut villages: Vec<String> = Vec::new();
    let mut named = Vec::new();
    for (hid, share, members, village, name, consent) in &rows {
        if !villages.contains(village) {
            villages.push(village.clone());
        }
        if *consent == 1 {
            named.push(name.clone());
        }
        if let (true, true, Some(line)) = (count_lifted, verified, line) {
            let this_year: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger_entries
                  WHERE household_id = $1 AND occurred_at >= $2 AND occurred_at < $3
                    AND NOT {}",
                crate::ledger::server::ATTESTED
            ))
            .bind(hid)
            .bind(year_start(year))
            .bind(year_start(year + 1))
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
            let after = income::per_capita(Fen::new(this_year), *members);
            let before = income::per_capita(Fen::new(this_year - share), *members);
            if matches!((before, after), (Some(b), Some(a)) if b < line && a >= line) {
                lifted += 1;
            }
        }
    }
    Ok(ImpactReceipt {
        order_id,
        status,
        total_fen: total,
        to_households_fen: rows.iter().map(|r| r.1).sum(),
        households: rows.len() as i64,
        villages,
        lifted_past_line: lifted,
        named,
        verified,
        paid_with,
        shared: None,
    })
}

pub async fn pledge_progress(institution_id: Option<i64>) -> Result<PledgeStatus, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let org = match (user.role, institution_id) {
        (Role::InstitutionBuyer, None) => user.organisation_id,
        (Role::InstitutionBuyer, Some(id)) if user.organisation_id == Some(id) => Some(id),
        (Role::Admin, Some(id)) => Some(id),
        _ => return Err(AppError::new(ErrorCode::Forbidden)),
    }
    .ok_or_else(|| AppError::new(ErrorCode::Forbidden))?;
    let db = &state.db;
    let year = current_year();
    let name: String =
        sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1 AND kind = 'institution'")
            .bind(org)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let pledge: Option<i64> = sqlx::query_scalar(
        "SELECT amount_fen FROM pledges WHERE organisation_id = $1 AND year = $2",
    )
    .bind(org)
    .bind(year)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let (purchased, orders): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(total_fen), 0) AS BIGINT), COUNT(*) FROM orders
          WHERE institution_id = $1 AND status IN ('paid', 'shipped', 'delivered') AND paid_at >= $2 AND paid_at < $3",
    )
    .bind(org)
    .bind(year_start(year))
    .bind(year_start(year + 1))
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let (pending_fen, pending_orders): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(total_fen), 0) AS BIGINT), COUNT(*) FROM orders
          WHERE institution_id = $1 AND status = 'placed' AND expires_at > $2",
    )
    .bind(org)
    .bind(now())
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(PledgeStatus {
        institution: name,
        year,
        pledge_fen: pledge,
        purchased_fen: purchased,
        orders,
        pending_fen,
        pending_orders,
    })
}

/// `/buy`: one listing bought at once — the way to buy that needs no script, also what a tap on
/// "加入购物车" does before the page's script has loaded. The listing, the unit price checkout
/// would charge now, and for a logged-in buyer the quote (addresses, the seller's methods,
/// shipping, total) and a fresh idempotency key for the form.
pub async fn buy_now(
    listing_id: i64,
    quantity: i64,
    event_id: Option<i64>,
    req: &DeliveryRequest,
) -> Result<super::api::BuyNowView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let detail = crate::market::server::listing(listing_id).await?;
    let card = detail.card;
    Quantity::new(quantity)
        .map_err(|_| AppError::new(ErrorCode::InvalidQuantity).field("quantity"))?;
    let t = now();
    // The event counts only while it features this listing and is not over.
    let event: Option<(i64, String)> = match event_id {
        Some(e) => sqlx::query_as(
            "SELECT e.id, e.title FROM live_events e JOIN live_event_listings el ON el.event_id = e.id
              WHERE e.id = $1 AND el.listing_id = $2 AND e.status <> 'ended' AND e.ends_at > $3",
        )
        .bind(e)
        .bind(listing_id)
        .bind(t)
        .fetch_optional(&db.pool)
        .await?,
        None => None,
    };
    let on_sale = card.status == "on_sale";
    let user = crate::auth::server::current_user().await?;
    let logged_in = user.is_some();
    // For this buyer: a flash price only within their limit and while the cap has room.
    let unit_price_fen = if on_sale {
        let buyer = user.as_ref().map(|u| u.id);
        price_now(
            db,
            listing_id,
            event.as_ref().map(|e| e.0),
            buyer,
            quantity,
            t,
        )
        .await?
        .2
    } else {
        card.price_fen
    };
    let (quote, quote_error) = if logged_in && on_sale {
        let line = CartLine {
            listing_id,
            quantity,
            price_fen: None,
            event_id: event.as_ref().map(|e| e.0),
        };
        match quote(std::slice::from_ref(&line), req).await {
            Ok(q) => (Some(q), None),
            Err(e) if e.status < 500 => (None, Some(e)),
            Err(e) => return Err(e),
        }
    } else {
        (None, None)
    };
    Ok(super::api::BuyNowView {
        listing_id,
        title: card.title,
        title_en: card.title_en,
        unit: card.unit,
        photo: card.photo,
        seller_name: card.seller_name,
        normal_price_fen: card.price_fen,
        unit_price_fen,
        quantity,
        event_id: event.as_ref().map(|e| e.0),
        event_title: event.map(|e| e.1),
        on_sale,
        logged_in,
        quote,
        quote_error,
        key: crate::server::session::new_token(),
    })
}

/// What the buy form sends (all as text: a value that does not parse is a 400 in the buyer's
/// language, not a framework's message).
#[derive(Debug, Default, serde::Deserialize)]
pub struct BuyForm {
    /// `update`: only price the changed choices (back to `/buy`); anything else places.
    op: Option<String>,
    listing: Option<String>,
    quantity: Option<String>,
    event: Option<String>,
    address: Option<String>,
    seller: Option<String>,
    method: Option<String>,
    shipping_fen: Option<String>,
    price_fen: Option<String>,
    key: Option<String>,
    invoice_title: Option<String>,
    invoice_tax_no: Option<String>,
}

/// An optional whole number from a form (empty is none); `field` names it in the 400.
fn form_number(v: &Option<String>, field: &str) -> Result<Option<i64>, AppError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::new(ErrorCode::BadRequest).field(field)),
    }
}

/// The buy form, parsed: only well-formed values go on (into the order, or back into the
/// page's address).
struct BuyChoice {
    listing: i64,
    quantity: i64,
    event: Option<i64>,
    address: Option<i64>,
    /// The seller as the quote names it (`h12`, `o3`) and the method, both only when they have
    /// that shape (checkout refuses a method the seller does not offer).
    delivery: Option<(String, String)>,
    shipping: Option<i64>,
    price: Option<i64>,
}

impl BuyChoice {
    fn parse(f: &BuyForm) -> Result<BuyChoice, AppError> {
        let seller = f.seller.as_deref().map(str::trim).filter(|s| {
            s.len() >= 2
                && s.len() <= 20
                && (s.starts_with('h') || s.starts_with('o'))
                && s[1..].bytes().all(|b| b.is_ascii_digit())
        });
        let method = f
            .method
            .as_deref()
            .map(str::trim)
            .filter(|m| matches!(*m, "courier" | "pickup" | "institution"));
        Ok(BuyChoice {
            listing: form_number(&f.listing, "listing")?
                .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("listing"))?,
            quantity: form_number(&f.quantity, "quantity")?.unwrap_or(1),
            event: form_number(&f.event, "event")?,
            address: form_number(&f.address, "address")?,
            delivery: seller
                .zip(method)
                .map(|(s, m)| (s.to_owned(), m.to_owned())),
            shipping: form_number(&f.shipping_fen, "shipping_fen")?,
            price: form_number(&f.price_fen, "price_fen")?,
        })
    }

    /// The `/buy` page for these choices, with `error` when there is one.
    fn page_url(&self, error: Option<ErrorCode>) -> String {
        let mut q: Vec<(&str, String)> = vec![
            ("listing", self.listing.to_string()),
            ("quantity", self.quantity.to_string()),
        ];
        if let Some(e) = self.event {
            q.push(("event", e.to_string()));
        }
        if let Some(a) = self.address {
            q.push(("address", a.to_string()));
        }
        if let Some((s, m)) = &self.delivery {
            q.push(("seller", s.clone()));
            q.push(("method", m.clone()));
        }
        if let Some(e) = error {
            q.push(("error", e.as_str()));
        }
        format!(
            "/buy?{}",
            serde_urlencoded::to_string(q).unwrap_or_default()
        )
    }
}

/// `POST /buy/place`: places the buy form's one line through the same checkout as the cart,
/// then sends the buyer to pay (303). `op=update` only sends the buyer back to `/buy` with the
/// changed choices priced (the form's idempotency key and invoice stay out of the address).
/// Nobody logged in: to the log-in page, which comes back here. A refused order (out of stock,
/// price changed, address missing…) goes back to `/buy` with the reason, which the page shows
/// in the buyer's language; nothing is placed.
pub async fn buy_form(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: http::HeaderMap,
    form: Result<axum::Form<BuyForm>, axum::extract::rejection::FormRejection>,
) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    let lang = crate::server::request_lang(&headers);
    let refuse = |e: AppError| {
        let status =
            http::StatusCode::from_u16(e.code.status()).unwrap_or(http::StatusCode::BAD_REQUEST);
        (
            status,
            [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e.code.text().t(lang).to_owned(),
        )
            .into_response()
    };
    let Ok(axum::Form(f)) = form else {
        return refuse(AppError::new(ErrorCode::BadRequest));
    };
    let choice = match BuyChoice::parse(&f) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    if f.op.as_deref() == Some("update") {
        return Redirect::to(&choice.page_url(None)).into_response();
    }
    let user = match crate::auth::server::user_of_request(&state.db, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let next =
                serde_urlencoded::to_string([("next", choice.page_url(None))]).unwrap_or_default();
            return Redirect::to(&format!("/login?{next}")).into_response();
        }
        Err(e) => return refuse(e),
    };
    let delivery = choice
        .delivery
        .clone()
        .map(|(seller, method)| super::api::DeliveryChoice {
            seller,
            method,
            shipping_fen: choice.shipping,
        })
        .into_iter()
        .collect();
    let req = DeliveryRequest::new(
        choice.address,
        delivery,
        f.invoice_title.clone(),
        f.invoice_tax_no.clone(),
    );
    let line = CartLine {
        listing_id: choice.listing,
        quantity: choice.quantity,
        price_fen: choice.price,
        event_id: choice.event,
    };
    let hold = Hold {
        secs: state.settings.order_hold_minutes * 60,
        max_unpaid: state.settings.max_unpaid_checkouts,
    };
    let key = f.key.clone().unwrap_or_default();
    match place(&state.db, &user, &key, &[line], &req, now(), hold).await {
        Ok(r) => match r.orders.first() {
            Some(o) => Redirect::to(&format!("/orders/{}/pay", o.id)).into_response(),
            None => Redirect::to("/orders").into_response(),
        },
        Err(e) if e.status < 500 => Redirect::to(&choice.page_url(Some(e.code))).into_response(),
        Err(e) => {
            tracing::error!(error = %e.message, "buy form");
            refuse(e)
        }
    }
}
