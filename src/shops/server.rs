//! Shops on the server: the page's data, short links and QR codes. Public: a shop shows only
//! what listing pages already show (a household's name and story only with its consent).

use super::api::{ShopEvent, ShopLink, ShopText, ShopView, MAX_SHOP_NAME_EN, MAX_SHOP_STORY};
use crate::auth::api::CurrentUser;
use crate::auth::server::{current_user, require_user};
use crate::domain::region::RegionCode;
use crate::domain::shop::{ShareKey, ShopKey};
use crate::error::{AppError, ErrorCode};
use crate::market::server::{figures_of, listings_of, ListingScope};
use crate::policy::{self, Action, Decision};
use crate::server::db::{current_year, now, year_start, Db};
use crate::server::plain_error;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// A short link: `/s/c12` leads to `/shop/c12`, `/s/l56` to `/listing/56`.
pub const SHORT_ROUTE: &str = "/s/{key}";
/// The short link as a QR code to print (SVG).
pub const QR_ROUTE: &str = "/s/{key}/qr.svg";
/// The QR code's smallest side in SVG pixels (it scales; 256 prints sharp at 3 cm).
const QR_MIN_PX: u32 = 256;
/// Sellers listed on a village's shop.
const VILLAGE_SELLERS: i64 = 20;

fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound)
}

/// Who a shop is, before its figures.
struct Head {
    kind: &'static str,
    name: String,
    name_en: Option<String>,
    region: String,
    story: Option<String>,
    story_en: Option<String>,
    products: Option<String>,
    village: Option<ShopLink>,
    scope: ListingScope,
    /// Whether this year's sales figures may be shown: not for a household that has not
    /// consented to be named (a village and a yearly sum would point at the family).
    figures_public: bool,
}

/// What listing cards call a household: its head's name with its consent, else its village's.
fn household_label(head: String, consent: i64, village: &str) -> String {
    if consent == 1 {
        head
    } else {
        format!("{village} 农户")
    }
}

/// A household's story, for a query over `households h`: what the household (or its cadre)
/// wrote replaces the registry's, even when it cleared it (`''`). Shown only with the
/// household's consent; listing pages use it too.
pub const HOUSEHOLD_STORY_SQL: &str =
    "COALESCE((SELECT p.story FROM shop_profiles p WHERE p.shop_key = 'h' || h.id), h.story)";

/// Of `households`, those that sell their own produce (a listing on sale or sold out), and so
/// have a shop page: the rule [`head`] applies, for the seller desk and the edit form.
pub async fn with_pages(
    db: &Db,
    households: &[i64],
) -> Result<std::collections::BTreeSet<i64>, AppError> {
    if households.is_empty() {
        return Ok(Default::default());
    }
    let marks: Vec<String> = (1..=households.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT DISTINCT household_id FROM listings
          WHERE household_id IN ({}) AND {SELLING}",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql);
    for h in households {
        q = q.bind(h);
    }
    Ok(q.fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .collect())
}

/// A listing that gives its seller a shop page.
const SELLING: &str = "status IN ('on_sale', 'sold_out')";

/// What a shop's keeper wrote (`shop_profiles`), if anything.
#[derive(Default)]
struct Words {
    name_en: String,
    story: String,
    story_en: String,
}

async fn words(db: &Db, key: &ShopKey) -> Result<Option<Words>, AppError> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT name_en, story, story_en FROM shop_profiles WHERE shop_key = $1")
            .bind(key.to_string())
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
    Ok(row.map(|(name_en, story, story_en)| Words {
        name_en,
        story,
        story_en,
    }))
}

/// Empty text is no text.
fn given(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

async fn head(db: &Db, key: &ShopKey) -> Result<Head, AppError> {
    let words = words(db, key).await?.unwrap_or_default();
    let (name_en, story, story_en) = (
        given(words.name_en),
        given(words.story),
        given(words.story_en),
    );
    match key {
        ShopKey::Organisation(id) => {
            let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
                "SELECT name, kind, region_code, product_line FROM organisations
                  WHERE id = $1 AND kind IN ('coop', 'enterprise')",
            )
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
            let (name, kind, region, products) = row.ok_or_else(not_found)?;
            Ok(Head {
                kind: if kind == "coop" { "coop" } else { "enterprise" },
                name,
                name_en,
                region,
                story,
                story_en,
                products,
                village: None,
                scope: ListingScope::Organisation(*id),
                figures_public: true,
            })
        }
        ShopKey::Household(id) => {
            // A household has a shop while it sells its own produce.
            let row: Option<(String, i64, Option<String>, String, String)> =
                sqlx::query_as(&format!(
                    "SELECT h.head_name, h.story_consent, {HOUSEHOLD_STORY_SQL}, h.region_code, v.name
                       FROM households h JOIN regions v ON v.code = h.region_code
                      WHERE h.id = $1 AND EXISTS (SELECT 1 FROM listings
                            WHERE household_id = h.id AND {SELLING})"
                ))
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
            let (head, consent, story, region, village) = row.ok_or_else(not_found)?;
            let village_link = RegionCode::parse(&region)
                .ok()
                .filter(|c| c.level() == crate::domain::region::RegionLevel::Village)
                .map(|c| ShopLink {
                    key: ShopKey::Village(c).to_string(),
                    name: village.clone(),
                });
            Ok(Head {
                kind: "household",
                name: household_label(head, consent, &village),
                // It goes by its head's name, with consent, never by another.
                name_en: None,
                region,
                story: story.and_then(given).filter(|_| consent == 1),
                story_en: story_en.filter(|_| consent == 1),
                products: None,
                village: village_link,
                scope: ListingScope::Household(*id),
                figures_public: consent == 1,
            })
        }
        ShopKey::Village(code) => {
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT name, name_en FROM regions WHERE code = $1 AND level = 'village'",
            )
            .bind(code.as_str())
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
            let (name, registered_en) = row.ok_or_else(not_found)?;
            Ok(Head {
                kind: "village",
                name,
                // The officials' English name, else the registry's.
                name_en: name_en.or(registered_en),
                region: code.as_str().to_owned(),
                story,
                story_en,
                products: None,
                village: None,
                scope: ListingScope::Origin(code.clone()),
                figures_public: true,
            })
        }
    }
}

/// "福建省 南平市 政和县 …" from the province down to `region`, in Chinese and (where every
/// level has one) in English.
async fn place(db: &Db, region: &str) -> Result<(String, Option<String>), AppError> {
    let Ok(code) = RegionCode::parse(region) else {
        return Ok((String::new(), None));
    };
    let chain = code.ancestors();
    let marks = (1..=chain.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT code, name, name_en FROM regions WHERE code IN ({marks})");
    let mut q = sqlx::query_as::<_, (String, String, Option<String>)>(&sql);
    for c in &chain {
        q = q.bind(c.as_str().to_owned());
    }
    let mut rows = q.fetch_all(&db.pool).await.map_err(AppError::internal)?;
    // Province first: ancestors come up from the region, so sort by the codes' levels.
    rows.sort_by_key(|(c, _, _)| RegionCode::parse(c).map(|r| r.level()).ok());
    let zh = rows
        .iter()
        .map(|(_, n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let en = rows
        .iter()
        .rev()
        .map(|(_, _, e)| e.as_deref().filter(|e| !e.is_empty()))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join(", "));
    Ok((zh, en))
}

/// The co-ops and households selling produce grown in `village`, first listed first.
async fn village_sellers(db: &Db, village: &RegionCode) -> Result<Vec<ShopLink>, AppError> {
    /// Organisation, household, the organisation's name, the head's, consent, their village.
    type SellerRow = (
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<SellerRow> =
        sqlx::query_as(&format!(
            "SELECT l.organisation_id, l.household_id, o.name, h.head_name, h.story_consent, hv.name
               FROM listings l
               LEFT JOIN organisations o ON o.id = l.organisation_id
               LEFT JOIN households h ON h.id = l.household_id
               LEFT JOIN regions hv ON hv.code = h.region_code
              WHERE l.origin_code = $1 AND l.status IN ('on_sale', 'sold_out')
              GROUP BY l.organisation_id, l.household_id, o.name, h.head_name, h.story_consent, hv.name
              ORDER BY MIN(l.id) LIMIT {VILLAGE_SELLERS}"
        ))
        .bind(village.as_str())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(rows
        .into_iter()
        .filter_map(|(org, hh, org_name, head, consent, hv)| match (org, hh) {
            (Some(id), _) => Some(ShopLink {
                key: ShopKey::Organisation(id).to_string(),
                name: org_name.unwrap_or_default(),
            }),
            (None, Some(id)) => Some(ShopLink {
                key: ShopKey::Household(id).to_string(),
                name: household_label(
                    head.unwrap_or_default(),
                    consent.unwrap_or(0),
                    hv.as_deref().unwrap_or(""),
                ),
            }),
            (None, None) => None,
        })
        .collect())
}

/// The short link of `key` as visitors reach this site.
fn share_url(origin: Option<String>, key: &ShareKey) -> String {
    format!("{}{}", origin.unwrap_or_default(), key.short_path())
}

pub async fn shop(key: &str, after: Option<&str>) -> Result<ShopView, AppError> {
    let key = ShopKey::parse(key).ok_or_else(not_found)?;
    let state = AppState::get()?;
    let db = state.reader();
    let head = head(&db, &key).await?;
    let (place, place_en) = place(&db, &head.region).await?;
    let listings = listings_of(&db, &head.scope, after).await?;
    let year = current_year();
    let figures = figures_of(&db, &head.scope, year_start(year)).await?;
    let sellers = match &key {
        ShopKey::Village(code) => village_sellers(&db, code).await?,
        _ => Vec::new(),
    };
    let share = ShareKey::Shop(key.clone());
    // The edit link, for whoever may follow it (the edit itself decides again).
    let editable = match current_user().await? {
        Some(user) if policy::may_keep_shops(&user) => {
            let facts = policy::shop_facts(&db, &user, &key).await?;
            policy::decide(&user, Action::EditShop, &facts) == Decision::Allow
        }
        _ => false,
    };
    Ok(ShopView {
        key: key.to_string(),
        kind: head.kind.to_owned(),
        name: head.name,
        name_en: head.name_en,
        place,
        place_en,
        story: head.story,
        story_en: head.story_en,
        products: head.products,
        village: head.village,
        households: figures.households,
        year,
        figures_shown: head.figures_public,
        units_sold: if head.figures_public {
            figures.units_sold
        } else {
            0
        },
        added_fen: if head.figures_public {
            figures.added_fen
        } else {
            0
        },
        certificates: figures.certificates,
        rating: crate::reviews::api::RatingSummary::of(figures.reviews.0, figures.reviews.1),
        events: figures
            .events
            .into_iter()
            .map(|(id, title, starts_at, status)| ShopEvent {
                id,
                title,
                starts_at,
                live: status == "live",
            })
            .collect(),
        sellers,
        listings,
        share_url: share_url(crate::ui::meta::site_origin(), &share),
        share_path: share.short_path(),
        editable,
    })
}

/// The shop `key` names and the signed-in user, if the policy lets them edit it. Decided
/// before anything is looked up, so a refusal says nothing about what exists.
async fn keeper(db: &Db, key: &str) -> Result<(ShopKey, CurrentUser), AppError> {
    let user = require_user().await?;
    if !policy::may_keep_shops(&user) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let key = ShopKey::parse(key).ok_or_else(not_found)?;
    policy::require(
        &user,
        Action::EditShop,
        &policy::shop_facts(db, &user, &key).await?,
    )?;
    Ok((key, user))
}

/// The edit form's values (404 if there is no such shop): what was written, else (for a
/// household) the registry's story.
async fn profile_of(db: &Db, key: &ShopKey) -> Result<ShopText, AppError> {
    let written = words(db, key).await?;
    let given_words = written.is_some();
    let words = written.unwrap_or_default();
    let mut text = ShopText {
        key: key.to_string(),
        kind: String::new(),
        name: String::new(),
        has_name_en: true,
        name_en: words.name_en,
        name_en_default: String::new(),
        story: words.story,
        story_en: words.story_en,
        story_shown: true,
        has_page: true,
    };
    match key {
        ShopKey::Organisation(id) => {
            let (name, kind): (String, String) = sqlx::query_as(
                "SELECT name, kind FROM organisations WHERE id = $1 AND kind IN ('coop', 'enterprise')",
            )
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(not_found)?;
            text.kind = if kind == "coop" { "coop" } else { "enterprise" }.into();
            text.name = name;
        }
        ShopKey::Household(id) => {
            let (name, story, consent): (String, Option<String>, i64) = sqlx::query_as(
                "SELECT head_name, story, story_consent FROM households WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(not_found)?;
            text.kind = "household".into();
            text.name = name;
            text.has_name_en = false;
            if !given_words {
                text.story = story.unwrap_or_default();
            }
            text.story_shown = consent == 1;
            text.has_page = !with_pages(db, &[*id]).await?.is_empty();
        }
        ShopKey::Village(code) => {
            let (name, registered_en): (String, Option<String>) = sqlx::query_as(
                "SELECT name, name_en FROM regions WHERE code = $1 AND level = 'village'",
            )
            .bind(code.as_str())
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?
            .ok_or_else(not_found)?;
            text.kind = "village".into();
            text.name = name;
            text.name_en_default = registered_en.unwrap_or_default();
        }
    }
    Ok(text)
}

pub async fn profile(key: &str) -> Result<ShopText, AppError> {
    let state = AppState::get()?;
    let (key, _) = keeper(&state.db, key).await?;
    profile_of(&state.db, &key).await
}

/// Text of at most `max` characters, trimmed, its line breaks as `\n` (a browser sends a
/// textarea's as `\r\n`, which its `maxlength` counts as one); too long: 400 naming `field`.
fn shop_text(raw: &str, max: usize, field: &str) -> Result<String, AppError> {
    let t = raw.trim().replace("\r\n", "\n");
    if t.chars().count() > max {
        return Err(AppError::new(ErrorCode::InvalidShopProfile).field(field));
    }
    Ok(t)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn save_profile(
    key: &str,
    name_en: Option<&str>,
    story: &str,
    story_en: &str,
) -> Result<ShopText, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let (key, user) = keeper(db, key).await?;
    let name_en = shop_text(name_en.unwrap_or(""), MAX_SHOP_NAME_EN, "name_en")?;
    // A name is one line; and a household's shop goes by its head's name, never by another.
    if name_en.contains(['\n', '\r', '\t'])
        || (matches!(key, ShopKey::Household(_)) && !name_en.is_empty())
    {
        return Err(AppError::new(ErrorCode::InvalidShopProfile).field("name_en"));
    }
    let story = shop_text(story, MAX_SHOP_STORY, "story")?;
    let story_en = shop_text(story_en, MAX_SHOP_STORY, "story_en")?;
    // 404 for a shop that is not there, before anything is written.
    let mut text = profile_of(db, &key).await?;
    sqlx::query(
        "INSERT INTO shop_profiles (shop_key, name_en, story, story_en, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (shop_key) DO UPDATE SET name_en = excluded.name_en, story = excluded.story,
             story_en = excluded.story_en, updated_by = excluded.updated_by,
             updated_at = excluded.updated_at",
    )
    .bind(key.to_string())
    .bind(&name_en)
    .bind(&story)
    .bind(&story_en)
    .bind(user.id)
    .bind(now())
    .execute(db.writer())
    .await
    .map_err(AppError::from)?;
    tracing::info!(shop = %key, user = user.id, "shop words saved");
    // What was saved is what the form shows now (a written story replaces the registry's).
    text.name_en = name_en;
    text.story = story;
    text.story_en = story_en;
    // A browser's form posted without a script: to the shop's page, which shows the new words
    // (back to the form for a household that has no page yet).
    if crate::auth::server::from_plain_form() {
        let to = if text.has_page {
            key.path()
        } else {
            format!("{}/edit", key.path())
        };
        leptos_axum::redirect(&to);
    }
    Ok(text)
}

/// Whether what `key` names is there to be shared: a shop (see [`head`]), or a listing on
/// sale or sold out.
async fn exists(db: &Db, key: &ShareKey) -> Result<bool, AppError> {
    match key {
        ShareKey::Shop(k) => match head(db, k).await {
            Ok(_) => Ok(true),
            Err(e) if e.code == ErrorCode::NotFound => Ok(false),
            Err(e) => Err(e),
        },
        // A receipt only while its buyer shares it and its money stands.
        ShareKey::Impact(t) => Ok(sqlx::query_scalar::<_, i64>(&format!(
            "SELECT COUNT(*) FROM impact_shares s JOIN orders o ON o.id = s.order_id
              WHERE s.token = $1 AND o.status IN {}",
            crate::orders::server::POSTED
        ))
        .bind(t.as_str())
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?
            > 0),
        ShareKey::Listing(id) => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM listings WHERE id = $1 AND status IN ('on_sale', 'sold_out')",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?
            > 0),
    }
}

async fn shared(state: &AppState, raw: &str) -> Result<ShareKey, AppError> {
    let key = ShareKey::parse(raw).ok_or_else(not_found)?;
    if exists(&state.reader(), &key).await? {
        Ok(key)
    } else {
        Err(not_found())
    }
}

/// `GET /s/{key}`: a permanent redirect to the shop or listing (404 for anything else).
pub async fn short_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    match shared(&state, &raw).await {
        Ok(key) => (
            StatusCode::MOVED_PERMANENTLY,
            [
                (header::LOCATION, key.path()),
                (header::CACHE_CONTROL, "public, max-age=3600".to_owned()),
            ],
        )
            .into_response(),
        Err(e) => plain_error(&headers, e),
    }
}

/// `GET /s/{key}/qr.svg`: the short link as a QR code, to print on a notice or a box label.
pub async fn qr_svg(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    let svg = match shared(&state, &raw).await {
        Ok(key) => crate::server::qr::svg(
            &share_url(
                crate::ui::meta::origin_of(&state.settings, Some(&headers)),
                &key,
            ),
            QR_MIN_PX,
        ),
        Err(e) => Err(e),
    };
    match svg {
        // Without a configured origin the code holds the request's host: caches keep one per host.
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::VARY, "Host"),
            ],
            svg,
        )
            .into_response(),
        Err(e) => plain_error(&headers, e),
    }
}
