//! Delivery on the server: regions for the picker, address books, sellers' terms, and what
//! checkout needs of them (a seller's terms, an address's copy for an order).

use super::api::{AddressView, RegionOption, SellerTerms, MAX_ADDRESSES};
use crate::auth::server::require_user;
use crate::domain::delivery::{Recipient, RecipientError, Terms, MAX_DISPATCH_HOURS, MAX_FEE};
use crate::domain::money::Fen;
use crate::domain::region::{RegionCode, RegionLevel};
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action};
use crate::server::db::{now, Db};
use crate::server::state::AppState;

pub async fn regions(parent: Option<&str>) -> Result<Vec<RegionOption>, AppError> {
    let state = AppState::get()?;
    let rows: Vec<(String, String)> = match parent.map(str::trim).filter(|p| !p.is_empty()) {
        None => {
            sqlx::query_as("SELECT code, name FROM regions WHERE parent_code IS NULL ORDER BY code")
                .fetch_all(&state.db.pool)
                .await?
        }
        Some(p) => {
            let code = RegionCode::parse(p)
                .map_err(|_| AppError::new(ErrorCode::InvalidRegion).field("parent"))?;
            // Villages have nothing below them.
            if code.level() == RegionLevel::Village {
                return Ok(Vec::new());
            }
            sqlx::query_as(
                "SELECT code, name FROM regions WHERE parent_code = $1 ORDER BY code LIMIT 1000",
            )
            .bind(code.as_str())
            .fetch_all(&state.db.pool)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(code, name)| RegionOption { code, name })
        .collect())
}

/// A region's names from the province down, joined by spaces.
pub async fn region_path(db: &Db, code: &RegionCode) -> Result<String, AppError> {
    Ok(crate::server::db::region_names(db, code).await?.join(" "))
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: i64,
    recipient: String,
    mobile: String,
    region_code: String,
    detail: String,
    unit_name: Option<String>,
    is_default: i64,
}

const ADDRESS_SELECT: &str =
    "SELECT id, recipient, mobile, region_code, detail, unit_name, is_default FROM addresses";

async fn view(db: &Db, r: AddressRow) -> Result<AddressView, AppError> {
    let region_name = match RegionCode::parse(&r.region_code) {
        Ok(code) => region_path(db, &code).await?,
        Err(_) => r.region_code.clone(),
    };
    Ok(AddressView {
        id: r.id,
        recipient: r.recipient,
        mobile: r.mobile,
        region_code: r.region_code,
        region_name,
        detail: r.detail,
        unit_name: r.unit_name,
        is_default: r.is_default != 0,
    })
}

/// A user's address for an order: `id` if it is theirs, else their default.
pub async fn address_for(
    db: &Db,
    user_id: i64,
    id: Option<i64>,
) -> Result<Option<AddressView>, AppError> {
    let row: Option<AddressRow> = match id {
        Some(id) => sqlx::query_as(&format!(
            "{ADDRESS_SELECT} WHERE id = $1 AND user_id = $2 AND removed_at IS NULL"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?
        .map(Some)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidAddress).field("address_id"))?,
        None => sqlx::query_as(&format!(
            "{ADDRESS_SELECT} WHERE user_id = $1 AND removed_at IS NULL ORDER BY is_default DESC, id DESC LIMIT 1"
        ))
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?,
    };
    match row {
        Some(r) => Ok(Some(view(db, r).await?)),
        None => Ok(None),
    }
}

pub async fn addresses() -> Result<Vec<AddressView>, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "{ADDRESS_SELECT} WHERE user_id = $1 AND removed_at IS NULL ORDER BY is_default DESC, id DESC LIMIT {MAX_ADDRESSES}"
    ))
    .bind(user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(&state.db, r).await?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
pub async fn save_address(
    id: Option<i64>,
    recipient: &str,
    mobile: &str,
    region_code: &str,
    detail: &str,
    unit_name: &str,
    is_default: bool,
) -> Result<AddressView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let r = Recipient::parse(recipient, mobile, detail, unit_name).map_err(|e| {
        AppError::new(ErrorCode::InvalidAddress).field(match e {
            RecipientError::Name => "recipient",
            RecipientError::Mobile => "mobile",
            RecipientError::Detail => "detail",
            RecipientError::UnitName => "unit_name",
        })
    })?;
    let region = RegionCode::parse(region_code)
        .ok()
        .filter(|c| matches!(c.level(), RegionLevel::Township | RegionLevel::Village))
        .ok_or_else(|| AppError::new(ErrorCode::InvalidAddress).field("region_code"))?;
    let known: Option<String> = sqlx::query_scalar("SELECT code FROM regions WHERE code = $1")
        .bind(region.as_str())
        .fetch_optional(&db.pool)
        .await?;
    if known.is_none() {
        return Err(AppError::new(ErrorCode::InvalidAddress).field("region_code"));
    }
    let t = now();
    let mut tx = db.begin_write().await?;
    // Serialises one user's address changes (the count and the default).
    sqlx::query("UPDATE users SET login = login WHERE id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM addresses WHERE user_id = $1 AND removed_at IS NULL",
    )
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    let make_default = is_default || live == 0;
    let id = match id {
        Some(id) => {
            let n = sqlx::query(
                "UPDATE addresses SET recipient = $1, mobile = $2, region_code = $3, detail = $4, unit_name = $5
                  WHERE id = $6 AND user_id = $7 AND removed_at IS NULL",
            )
            .bind(&r.name)
            .bind(&r.mobile)
            .bind(region.as_str())
            .bind(&r.detail)
            .bind(&r.unit_name)
            .bind(id)
            .bind(user.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(AppError::new(ErrorCode::NotFound));
            }
            id
        }
        None => {
            if live >= MAX_ADDRESSES {
                return Err(AppError::new(ErrorCode::TooManyAddresses));
            }
            sqlx::query_scalar(
                "INSERT INTO addresses (user_id, recipient, mobile, region_code, detail, unit_name, is_default, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING id",
            )
            .bind(user.id)
            .bind(&r.name)
            .bind(&r.mobile)
            .bind(region.as_str())
            .bind(&r.detail)
            .bind(&r.unit_name)
            .bind(t)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    if make_default {
        sqlx::query("UPDATE addresses SET is_default = CASE WHEN id = $1 THEN 1 ELSE 0 END WHERE user_id = $2")
            .bind(id)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    address_for(db, user.id, Some(id))
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))
}

pub async fn remove_address(id: i64) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let mut tx = state.db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE addresses SET removed_at = $1, is_default = 0 WHERE id = $2 AND user_id = $3 AND removed_at IS NULL",
    )
    .bind(now())
    .bind(id)
    .bind(user.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    // The newest remaining address becomes the default if none is.
    sqlx::query(
        "UPDATE addresses SET is_default = 1 WHERE id = (SELECT id FROM addresses WHERE user_id = $1 AND removed_at IS NULL ORDER BY id DESC LIMIT 1)
            AND NOT EXISTS (SELECT 1 FROM addresses WHERE user_id = $1 AND removed_at IS NULL AND is_default = 1)",
    )
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A seller's terms (the defaults when it set none), read through `ex` (the pool, or the
/// checkout's own transaction, which must not wait for a second connection).
pub async fn terms_of<'e, E>(
    ex: E,
    household: Option<i64>,
    organisation: Option<i64>,
) -> Result<Terms, AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    type TermsRow = (i64, Option<i64>, Option<String>, i64, i64);
    let row: Option<TermsRow> = sqlx::query_as(
        "SELECT courier_fee_fen, free_above_fen, pickup_point, institution_delivery, dispatch_hours
           FROM seller_delivery WHERE seller_household_id = $1 OR seller_organisation_id = $2",
    )
    .bind(household)
    .bind(organisation)
    .fetch_optional(ex)
    .await?;
    Ok(match row {
        Some((fee, free, pickup, institution, hours)) => Terms {
            courier_fee_fen: fee,
            free_above_fen: free,
            pickup_point: pickup,
            institution_delivery: institution != 0,
            dispatch_hours: hours,
        },
        None => Terms::default(),
    })
}

/// `h12` → household 12, `o3` → organisation 3.
pub fn parse_seller(s: &str) -> Option<(Option<i64>, Option<i64>)> {
    let s = s.trim();
    let id: i64 = s.get(1..)?.parse().ok().filter(|v| *v > 0)?;
    match s.as_bytes().first()? {
        b'h' => Some((Some(id), None)),
        b'o' => Some((None, Some(id))),
        _ => None,
    }
}

pub fn seller_key(household: Option<i64>, organisation: Option<i64>) -> String {
    match (household, organisation) {
        (_, Some(o)) => format!("o{o}"),
        (Some(h), None) => format!("h{h}"),
        (None, None) => String::new(),
    }
}

pub async fn my_terms() -> Result<Vec<SellerTerms>, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let sellers: Vec<(Option<i64>, Option<i64>, String)> = match user.role {
        Role::Household => sqlx::query_as(
            "SELECT id, NULL, head_name FROM households WHERE id = $1",
        )
        .bind(user.household_id)
        .fetch_all(&db.pool)
        .await?,
        Role::Cadre => sqlx::query_as(
            "SELECT h.id, NULL, h.head_name FROM households h JOIN cadre_pairings p ON p.household_id = h.id
              WHERE p.user_id = $1 ORDER BY h.id LIMIT 50",
        )
        .bind(user.id)
        .fetch_all(&db.pool)
        .await?,
        Role::OrgManager => sqlx::query_as(
            "SELECT NULL, id, name FROM organisations WHERE id = $1",
        )
        .bind(user.organisation_id)
        .fetch_all(&db.pool)
        .await?,
        _ => return Err(AppError::new(ErrorCode::Forbidden)),
    };
    let mut out = Vec::with_capacity(sellers.len());
    for (h, o, name) in sellers {
        out.push(SellerTerms {
            seller: seller_key(h, o),
            seller_name: name,
            terms: terms_of(&db.pool, h, o).await?,
        });
    }
    Ok(out)
}

fn fee(s: &str, field: &'static str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Fen::parse_yuan(s)
        .ok()
        .filter(|f| f.fen() >= 0 && *f <= MAX_FEE)
        .map(|f| Some(f.fen()))
        .ok_or_else(|| AppError::new(ErrorCode::InvalidDelivery).field(field))
}

pub async fn save_terms(
    seller: &str,
    courier_fee: &str,
    free_above: &str,
    pickup_point: &str,
    institution: bool,
    dispatch_hours: &str,
) -> Result<SellerTerms, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let (h, o) =
        parse_seller(seller).ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("seller"))?;
    let facts = policy::seller_facts(db, &user, h, o).await?;
    policy::require(&user, Action::SellListing, &facts)?;
    let courier_fee = fee(courier_fee, "courier_fee")?.unwrap_or(0);
    let free_above = match free_above.trim() {
        "" => None,
        s => Some(
            Fen::parse_yuan(s)
                .ok()
                .filter(|f| f.fen() > 0 && *f <= Fen::MAX_ORDER)
                .ok_or_else(|| AppError::new(ErrorCode::InvalidDelivery).field("free_above"))?
                .fen(),
        ),
    };
    let pickup = match pickup_point.trim() {
        "" => None,
        p if p.chars().count() <= 50 => Some(p.to_owned()),
        _ => return Err(AppError::new(ErrorCode::InvalidDelivery).field("pickup_point")),
    };
    let hours: i64 = dispatch_hours
        .trim()
        .parse()
        .ok()
        .filter(|h| (1..=MAX_DISPATCH_HOURS).contains(h))
        .ok_or_else(|| AppError::new(ErrorCode::InvalidDelivery).field("dispatch_hours"))?;
    let conflict = if h.is_some() {
        "seller_household_id"
    } else {
        "seller_organisation_id"
    };
    sqlx::query(&format!(
        "INSERT INTO seller_delivery (seller_household_id, seller_organisation_id, courier_fee_fen, free_above_fen,
                                      pickup_point, institution_delivery, dispatch_hours, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ({conflict}) DO UPDATE SET courier_fee_fen = excluded.courier_fee_fen,
             free_above_fen = excluded.free_above_fen, pickup_point = excluded.pickup_point,
             institution_delivery = excluded.institution_delivery, dispatch_hours = excluded.dispatch_hours,
             updated_at = excluded.updated_at"
    ))
    .bind(h)
    .bind(o)
    .bind(courier_fee)
    .bind(free_above)
    .bind(&pickup)
    .bind(i64::from(institution))
    .bind(hours)
    .bind(now())
    .execute(db.writer())
    .await?;
    let name: String = match (h, o) {
        (_, Some(o)) => sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1").bind(o),
        (h, None) => sqlx::query_scalar("SELECT head_name FROM households WHERE id = $1").bind(h),
    }
    .fetch_one(&db.pool)
    .await?;
    Ok(SellerTerms {
        seller: seller_key(h, o),
        seller_name: name,
        terms: terms_of(&db.pool, h, o).await?,
    })
}
