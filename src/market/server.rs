//! Listings and the catalogue on the server.

use super::api::{
    CatalogueQuery, DeskShop, ListingCard, ListingDetail, ListingEditView, ListingForm,
    MarketResults, PhotoView, PriceShare, SellableFor, SellerDeskView, CATALOGUE_PAGE_SIZE,
    SELLER_DESK_PAGE_SIZE,
};
use super::photos::public_url;
use crate::auth::api::CurrentUser;
use crate::auth::server::{current_user, require_user};
use crate::domain::allocation::BenefitTerms;
use crate::domain::income;
use crate::domain::listing::{Category, DeclaredCosts, ListingStatus};
use crate::domain::money::Fen;
use crate::domain::page::Page;
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::domain::shop::ShopKey;
use crate::error::{AppError, ErrorCode};
use crate::policy::{self, Action, Decision};
use crate::server::db::monitoring_line;
use crate::server::db::{current_year, is_date, now, today, Backend, Db};
use crate::server::keyset::{self, asc, desc, Cursored, Keyset};
use crate::server::state::AppState;

/// A value bound to a numbered placeholder of a query built at run time.
#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// The columns of a listing card (`CardRow`).
const CARD_COLUMNS: &str = "l.id, l.title, l.title_en, l.category, l.unit, l.price_fen, l.stock, l.status,
        COALESCE(org.name, hv.name || ' 农户') AS seller_name, origin.name AS origin, county.name AS county,
        origin.name_en AS origin_en, county.name_en AS county_en,
        l.stalled, l.stalled_reason,
        (SELECT COUNT(*) FROM certificates c WHERE c.listing_id = l.id AND c.valid_from <= $1 AND c.valid_until >= $1 AND c.revoked_at IS NULL) AS certified,
        l.created_at,
        (SELECT p.thumb_path FROM listing_photos p WHERE p.listing_id = l.id ORDER BY p.position LIMIT 1) AS photo,
        CASE WHEN l.organisation_id IS NOT NULL THEN 'c' || CAST(l.organisation_id AS TEXT)
             ELSE 'h' || CAST(l.household_id AS TEXT) END AS seller_key,
        l.origin_code";
const CARD_FROM: &str = "FROM listings l
   LEFT JOIN organisations org ON org.id = l.organisation_id
   LEFT JOIN households h ON h.id = l.household_id
   LEFT JOIN regions hv ON hv.code = h.region_code
   JOIN regions origin ON origin.code = l.origin_code
   LEFT JOIN regions county ON county.code = substr(l.origin_code, 1, 6)";

/// `SELECT` of listing cards, each with its cursor in `ordering` when one is given.
fn card_select(ordering: Option<&Keyset>) -> String {
    match ordering {
        Some(k) => format!("SELECT {CARD_COLUMNS}, {} {CARD_FROM}", k.cursor_column()),
        None => format!("SELECT {CARD_COLUMNS} {CARD_FROM}"),
    }
}

/// The cards of the listings `ids` (at most a page's worth), in that order; listings that are
/// no longer on sale or sold out are left out.
pub async fn cards_by_ids(db: &Db, ids: &[i64]) -> Result<Vec<ListingCard>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Server-made integers only.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows: Vec<CardRow> = sqlx::query_as(&format!(
        "{} WHERE l.id IN ({list}) AND l.status IN ('on_sale', 'sold_out')",
        card_select(None)
    ))
    .bind(today())
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let mut cards: Vec<ListingCard> = rows.into_iter().map(ListingCard::from).collect();
    cards.sort_by_key(|c| ids.iter().position(|i| *i == c.id));
    Ok(cards)
}

/// The most households the seller desk offers to list for.
const MAX_SELLABLE_HOUSEHOLDS: i64 = 500;
/// Rows of the terms editor beyond the desk's households: those a listing's terms already name
/// (the editor keeps them, so an edit never drops a household's share unseen).
const MAX_TERMS_OUTSIDE: usize = 100;

/// Sold-out listings come after those on sale, in every ordering of the catalogue.
const SOLD_OUT_LAST: &str = "l.sold_out";
/// The catalogue's orderings, by the `sort` parameter.
const BY_NEED: Keyset = Keyset(&[
    asc(SOLD_OUT_LAST),
    // Need: stalled first, then the most stock at risk, then newest.
    desc("l.stalled"),
    desc("COALESCE(l.stalled_quantity, 0)"),
    desc("l.created_at"),
    desc("l.id"),
]);
/// How many of the search words (`$2`…`$6`, see [`Filter`]) a listing's title lacks.
/// Either title counts: the Chinese one or the seller's English one.
const TITLE_MISSES: &str =
    "(CASE WHEN lower(l.title || ' ' || l.title_en) LIKE '%' || $2 || '%' THEN 0 ELSE 1 END
    + CASE WHEN lower(l.title || ' ' || l.title_en) LIKE '%' || $3 || '%' THEN 0 ELSE 1 END
    + CASE WHEN lower(l.title || ' ' || l.title_en) LIKE '%' || $4 || '%' THEN 0 ELSE 1 END
    + CASE WHEN lower(l.title || ' ' || l.title_en) LIKE '%' || $5 || '%' THEN 0 ELSE 1 END
    + CASE WHEN lower(l.title || ' ' || l.title_en) LIKE '%' || $6 || '%' THEN 0 ELSE 1 END)";
/// A search by need: listings whose title holds the words first (a co-op whose name holds
/// them, or a description that mentions them, comes after), then as [`BY_NEED`].
const BY_RELEVANCE: Keyset = Keyset(&[
    asc(SOLD_OUT_LAST),
    asc(TITLE_MISSES),
    desc("l.stalled"),
    desc("COALESCE(l.stalled_quantity, 0)"),
    desc("l.created_at"),
    desc("l.id"),
]);
const BY_NEWEST: Keyset = Keyset(&[asc(SOLD_OUT_LAST), desc("l.created_at"), desc("l.id")]);
const BY_PRICE_ASC: Keyset = Keyset(&[asc(SOLD_OUT_LAST), asc("l.price_fen"), desc("l.id")]);
const BY_PRICE_DESC: Keyset = Keyset(&[asc(SOLD_OUT_LAST), desc("l.price_fen"), desc("l.id")]);
/// A seller's own listings, newest first.
const BY_ID_DESC: Keyset = Keyset(&[desc("l.id")]);

#[derive(sqlx::FromRow)]
struct CardRow {
    id: i64,
    title: String,
    title_en: String,
    category: String,
    unit: String,
    price_fen: i64,
    stock: i64,
    status: String,
    seller_name: String,
    origin: String,
    county: Option<String>,
    origin_en: Option<String>,
    county_en: Option<String>,
    stalled: i64,
    stalled_reason: Option<String>,
    certified: i64,
    created_at: i64,
    photo: Option<String>,
    seller_key: String,
    origin_code: String,
    /// Present when the query selected it (lists); empty for a single card.
    #[sqlx(default)]
    cursor: String,
}

impl Cursored for CardRow {
    fn cursor(&self) -> &str {
        &self.cursor
    }
}

impl From<CardRow> for ListingCard {
    fn from(r: CardRow) -> ListingCard {
        ListingCard {
            id: r.id,
            title: r.title,
            title_en: r.title_en,
            category: r.category,
            unit: r.unit,
            price_fen: r.price_fen,
            stock: r.stock,
            status: r.status,
            seller_name: r.seller_name,
            origin: r.origin,
            county: r.county.unwrap_or_default(),
            origin_en: r.origin_en,
            county_en: r.county_en,
            stalled: r.stalled == 1,
            stalled_reason: r.stalled_reason,
            certified: r.certified > 0,
            created_at: r.created_at,
            photo: r.photo.as_deref().map(public_url),
            seller_key: r.seller_key,
            origin_code: r.origin_code,
        }
    }
}

/// The words of a search, lower-cased, without LIKE wildcards or escapes; at most five.
fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | '。'))
        .map(|w| w.to_lowercase().replace(['%', '_', '\\'], ""))
        .filter(|w| !w.is_empty())
        .take(5)
        .collect()
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref().map(str::trim), Some("1" | "true" | "on"))
}

/// The conditions of a catalogue query and their values. With search words, `$2`…`$6` are the
/// words (padded with empty strings, which every title contains), for [`BY_RELEVANCE`].
struct Filter {
    conditions: Vec<String>,
    binds: Vec<Bind>,
    searched: bool,
}

impl Filter {
    fn push(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
}

/// Search words bound for [`TITLE_MISSES`].
const TITLE_WORDS: usize = 5;

async fn filter(db: &Db, q: &CatalogueQuery) -> Result<Filter, AppError> {
    let mut f = Filter {
        conditions: vec!["l.status IN ('on_sale', 'sold_out')".to_owned()],
        binds: vec![Bind::Text(today())],
        searched: false,
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.chars().count() > 50 {
            return Err(AppError::new(ErrorCode::BadRequest).field("q"));
        }
        let words = search_words(text);
        f.searched = !words.is_empty();
        if f.searched {
            for i in 0..TITLE_WORDS {
                f.binds
                    .push(Bind::Text(words.get(i).cloned().unwrap_or_default()));
            }
        }
        // Every word must match the listing's search document (title, unit, description,
        // origin, county and co-op names) or name its category, in Chinese or English.
        for word in words {
            let categories: Vec<&str> = Category::ALL
                .into_iter()
                .filter(|c| c.zh().contains(&word) || c.en().to_lowercase().contains(&word))
                .map(Category::as_str)
                .collect();
            let (sql, value) = match db.backend {
                // Three or more characters use the trigram index; fewer scan the documents.
                Backend::Sqlite if word.chars().count() >= 3 => (
                    "SELECT rowid FROM listing_search WHERE listing_search MATCH",
                    format!("doc:\"{}\"", word.replace('"', "\"\"")),
                ),
                Backend::Sqlite => (
                    "SELECT rowid FROM listing_search WHERE doc LIKE",
                    format!("%{word}%"),
                ),
                Backend::Postgres => (
                    "SELECT listing_id FROM listing_search WHERE doc ILIKE",
                    format!("%{word}%"),
                ),
            };
            let p = f.push(Bind::Text(value));
            let mut c = format!("(l.id IN ({sql} {p})");
            for cat in categories {
                let p = f.push(Bind::Text(cat.to_owned()));
                c.push_str(&format!(" OR l.category = {p}"));
            }
            c.push(')');
            f.conditions.push(c);
        }
    }
    if let Some(cat) = q.category.as_deref().filter(|c| !c.is_empty()) {
        let cat = Category::parse(cat)
            .ok_or_else(|| AppError::new(ErrorCode::BadRequest).field("category"))?;
        let p = f.push(Bind::Text(cat.as_str().to_owned()));
        f.conditions.push(format!("l.category = {p}"));
    }
    if let Some(county) = q.county.as_deref().filter(|c| !c.is_empty()) {
        let code = RegionCode::parse(county)
            .map_err(|_| AppError::new(ErrorCode::InvalidRegion).field("county"))?;
        let p = f.push(Bind::Text(code.like_pattern()));
        f.conditions.push(format!("l.origin_code LIKE {p}"));
    }
    if flag(&q.stalled) {
        f.conditions.push("l.stalled = 1".into());
    }
    if flag(&q.monitored) {
        // Benefits a household at or below 1.5× the monitoring line (the officials' "near or
        // below"), judged on its latest baseline per-capita income.
        let limit = match monitoring_line(db, current_year()).await? {
            Some(line) => income::near_ceiling(line).fen(),
            None => -1,
        };
        let p = f.push(Bind::Int(limit));
        f.conditions.push(format!(
            "EXISTS (SELECT 1 FROM listing_beneficiaries lb WHERE lb.listing_id = l.id
                AND (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = lb.household_id ORDER BY b.year DESC LIMIT 1) <= {p})"
        ));
    }
    if flag(&q.certified) {
        f.conditions.push(CERTIFIED.into());
    }
    Ok(f)
}

/// A listing with a certificate valid today (`$1`).
const CERTIFIED: &str = "EXISTS (SELECT 1 FROM certificates c WHERE c.listing_id = l.id AND c.valid_from <= $1 AND c.valid_until >= $1 AND c.revoked_at IS NULL)";

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind(s),
            Bind::Int(n) => query.bind(n),
        };
    }
    query
}

/// A page of the listings `f` selects, in the order `sort` names (by need, with words first
/// those whose title holds them), after the cursor `after`.
async fn page_of(
    db: &Db,
    mut f: Filter,
    sort: Option<&str>,
    after: Option<&str>,
    page_size: i64,
) -> Result<Page<ListingCard>, AppError> {
    let ordering = match sort.unwrap_or("") {
        "price_asc" => BY_PRICE_ASC,
        "price_desc" => BY_PRICE_DESC,
        "newest" => BY_NEWEST,
        "" | "need" if f.searched => BY_RELEVANCE,
        "" | "need" => BY_NEED,
        _ => return Err(AppError::new(ErrorCode::BadRequest).field("sort")),
    };
    if let Some(cursor) = ordering.parse(after)? {
        f.conditions.push(ordering.after(f.binds.len() + 1));
        f.binds.extend(cursor.keys().iter().map(|&k| Bind::Int(k)));
    }
    let order = ordering.order_by();
    // Pick the page's ids from the listings table alone, then build the cards for those rows.
    let sql = format!(
        "{} WHERE l.id IN (SELECT l.id FROM listings l WHERE {} ORDER BY {order} LIMIT {})
          ORDER BY {order}",
        card_select(Some(&ordering)),
        f.conditions.join(" AND "),
        page_size + 1
    );
    let rows = bind_all(sqlx::query_as::<_, CardRow>(&sql), f.binds)
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(keyset::page(rows, page_size, ListingCard::from))
}

pub async fn catalogue(q: &CatalogueQuery) -> Result<Page<ListingCard>, AppError> {
    let state = AppState::get()?;
    let db = state.reader();
    let f = filter(&db, q).await?;
    page_of(
        &db,
        f,
        q.sort.as_deref(),
        q.after.as_deref(),
        CATALOGUE_PAGE_SIZE,
    )
    .await
}

/// The market page: a page of the catalogue, how many listings match (counted up to
/// [`COUNT_CAP`]), and when a search finds nothing, stalled and certified produce instead.
pub async fn market_search(q: &CatalogueQuery) -> Result<MarketResults, AppError> {
    let state = AppState::get()?;
    let db = state.reader();
    let f = filter(&db, q).await?;
    let first = q.after.as_deref().is_none_or(|a| a.trim().is_empty());
    // Counted once, on the first page (the later ones only go on through the same set).
    let counted: Option<i64> = if first {
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM listings l WHERE {} LIMIT {}) t",
            f.conditions.join(" AND "),
            COUNT_CAP + 1
        );
        let (n,): (i64,) = bind_all(sqlx::query_as(&count_sql), f.binds.clone())
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
        Some(n)
    } else {
        None
    };
    let page = page_of(
        &db,
        f,
        q.sort.as_deref(),
        q.after.as_deref(),
        CATALOGUE_PAGE_SIZE,
    )
    .await?;
    let suggestions = if counted == Some(0) {
        let f = Filter {
            conditions: vec![
                "l.status = 'on_sale'".to_owned(),
                format!("(l.stalled = 1 OR {CERTIFIED})"),
            ],
            binds: vec![Bind::Text(today())],
            searched: false,
        };
        page_of(&db, f, None, None, SUGGESTIONS).await?.items
    } else {
        Vec::new()
    };
    Ok(MarketResults {
        page,
        total: counted.map(|n| n.min(COUNT_CAP)),
        more: counted.is_some_and(|n| n > COUNT_CAP),
        suggestions,
    })
}

/// Whose listings a shop shows (see `crate::shops`).
pub enum ListingScope {
    Organisation(i64),
    Household(i64),
    /// Grown in this village, whoever sells it.
    Origin(RegionCode),
}

impl ListingScope {
    /// The condition on `l` (listings), with the scope's value as `$n`.
    fn condition(&self, n: usize) -> (String, Bind) {
        let (column, value) = match self {
            ListingScope::Organisation(id) => ("l.organisation_id", Bind::Int(*id)),
            ListingScope::Household(id) => ("l.household_id", Bind::Int(*id)),
            ListingScope::Origin(code) => ("l.origin_code", Bind::Text(code.as_str().to_owned())),
        };
        (format!("{column} = ${n}"), value)
    }
}

/// Listing cards in one page of a shop.
pub const SHOP_PAGE_SIZE: i64 = 24;

/// A page of a shop's listings on sale or sold out, by need.
pub async fn listings_of(
    db: &Db,
    scope: &ListingScope,
    after: Option<&str>,
) -> Result<Page<ListingCard>, AppError> {
    let mut f = Filter {
        conditions: vec!["l.status IN ('on_sale', 'sold_out')".to_owned()],
        binds: vec![Bind::Text(today())],
        searched: false,
    };
    let (condition, value) = ListingScope::condition(scope, 2);
    f.conditions.push(condition);
    f.binds.push(value);
    page_of(db, f, None, after, SHOP_PAGE_SIZE).await
}

/// What a shop's listings have done since `since` (Unix seconds), and what vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeFigures {
    /// The households its listings on sale (or sold out) benefit.
    pub households: i64,
    /// Units of paid orders not refunded (paid, shipped or delivered), of listings shown.
    pub units_sold: i64,
    /// Net sale rows of the income ledger (sales less reversals).
    pub added_fen: i64,
    /// Numbers of the certificates valid today of listings on sale, at most ten.
    pub certificates: Vec<String>,
    /// Visible reviews of its listings: how many, and the sum of their ratings.
    pub reviews: (i64, i64),
    /// Livestreams not yet over featuring its listings, soonest first, at most five:
    /// (id, title, starts_at, status).
    pub events: Vec<(i64, String, i64, String)>,
}

/// The one number a query built at run time answers.
async fn scalar(db: &Db, sql: &str, binds: Vec<Bind>) -> Result<i64, AppError> {
    let (n,): (i64,) = bind_all(sqlx::query_as(sql), binds)
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(n)
}

/// The figures of `scope`'s listings since `since`.
pub async fn figures_of(
    db: &Db,
    scope: &ListingScope,
    since: i64,
) -> Result<ScopeFigures, AppError> {
    let (cond, value) = scope.condition(1);
    let households = scalar(
        db,
        &format!(
            "SELECT COUNT(DISTINCT lb.household_id) FROM listing_beneficiaries lb
               JOIN listings l ON l.id = lb.listing_id
              WHERE {cond} AND l.status IN ('on_sale', 'sold_out')"
        ),
        vec![value.clone()],
    )
    .await?;
    let units_sold = scalar(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM order_items i
               JOIN orders o ON o.id = i.order_id JOIN listings l ON l.id = i.listing_id
              WHERE {cond} AND l.status IN ('on_sale', 'sold_out')
                AND o.status IN ('paid', 'shipped', 'delivered') AND o.paid_at >= $2"
        ),
        vec![value.clone(), Bind::Int(since)],
    )
    .await?;
    let added_fen = scalar(
        db,
        &format!(
            "SELECT CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) FROM ledger_entries e
               JOIN order_items i ON i.id = e.order_item_id JOIN listings l ON l.id = i.listing_id
              WHERE {cond} AND l.status IN ('on_sale', 'sold_out') AND e.occurred_at >= $2"
        ),
        vec![value.clone(), Bind::Int(since)],
    )
    .await?;
    let reviews: (i64, i64) = bind_all(
        sqlx::query_as(&format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(r.rating), 0) AS BIGINT) FROM listing_reviews r
               JOIN listings l ON l.id = r.listing_id
              WHERE {cond} AND r.hidden_at IS NULL"
        )),
        vec![value.clone()],
    )
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let certificates: Vec<(String,)> = bind_all(
        sqlx::query_as(&format!(
            "SELECT c.number FROM certificates c JOIN listings l ON l.id = c.listing_id
              WHERE {cond} AND l.status IN ('on_sale', 'sold_out')
                AND c.valid_from <= $2 AND c.valid_until >= $2 AND c.revoked_at IS NULL
              GROUP BY c.number ORDER BY c.number LIMIT 10"
        )),
        vec![value.clone(), Bind::Text(today())],
    )
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let events: Vec<(i64, String, i64, String)> = bind_all(
        sqlx::query_as(&format!(
            "SELECT e.id, e.title, e.starts_at, e.status FROM live_events e
              WHERE e.status <> 'ended' AND e.ends_at > $2
                AND EXISTS (SELECT 1 FROM live_event_listings el JOIN listings l ON l.id = el.listing_id
                             WHERE el.event_id = e.id AND {cond})
              ORDER BY e.starts_at, e.id LIMIT 5"
        )),
        vec![value, Bind::Int(now())],
    )
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(ScopeFigures {
        households,
        units_sold,
        added_fen,
        certificates: certificates.into_iter().map(|(n,)| n).collect(),
        reviews,
        events,
    })
}

/// The most listings the market page counts ("1000+" past it).
const COUNT_CAP: i64 = 1000;
/// Cards suggested when a search finds nothing.
const SUGGESTIONS: i64 = 8;

/// The villages of `households` (inside `within` when given), named "township village", for
/// the origin picker; at most one per household, so bounded like the households.
async fn origin_options(
    db: &Db,
    households: &[SellableFor],
    within: Option<&RegionCode>,
) -> Result<Vec<crate::delivery::api::RegionOption>, AppError> {
    let mut codes: Vec<&str> = households
        .iter()
        .map(|h| h.village_code.as_str())
        .filter(|c| within.is_none_or(|w| RegionCode::parse(c).is_ok_and(|r| w.contains(&r))))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let marks = (1..=codes.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT r.code, COALESCE(t.name || ' ', '') || r.name FROM regions r
           LEFT JOIN regions t ON t.code = substr(r.code, 1, 9) AND t.code <> r.code
          WHERE r.code IN ({marks}) ORDER BY r.code"
    );
    let mut query = sqlx::query_as::<_, (String, String)>(&sql);
    for c in codes {
        query = query.bind(c);
    }
    Ok(query
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|(code, name)| crate::delivery::api::RegionOption { code, name })
        .collect())
}

#[derive(sqlx::FromRow)]
pub struct ListingFacts {
    household_id: Option<i64>,
    organisation_id: Option<i64>,
    origin_code: String,
    status: String,
    price_fen: i64,
    benefit_terms: String,
    description: String,
    title_en: String,
    description_en: String,
    harvest_date: Option<String>,
    cost_fen: Option<i64>,
    logistics_fen: Option<i64>,
    margin_fen: Option<i64>,
}

impl ListingFacts {
    fn costs(&self) -> DeclaredCosts {
        DeclaredCosts {
            costs: self.cost_fen.map(Fen::new),
            logistics: self.logistics_fen.map(Fen::new),
            margin: self.margin_fen.map(Fen::new),
        }
    }
}

async fn facts(db: &Db, id: i64) -> Result<ListingFacts, AppError> {
    sqlx::query_as(
        "SELECT household_id, organisation_id, origin_code, status, price_fen, benefit_terms, description, title_en, description_en,
                harvest_date, cost_fen, logistics_fen, margin_fen
           FROM listings WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?
    .ok_or_else(|| AppError::new(ErrorCode::ListingUnavailable))
}

pub async fn listing(id: i64) -> Result<ListingDetail, AppError> {
    let state = AppState::get()?;
    // Whether the listing may be shown, who may edit it and whose names may appear are
    // decided on the primary; the rest may come from the read replica.
    let primary = &state.db;
    let db = &state.reader();
    let f = facts(primary, id).await?;
    let user = current_user().await?;
    let (can_edit, can_moderate) = match &user {
        Some(u) => {
            let pf = policy::listing_facts(primary, u, id).await?;
            (
                policy::decide(u, Action::SellListing, &pf) == Decision::Allow,
                u.role == Role::Official
                    && policy::decide(u, Action::Certify, &pf) == Decision::Allow,
            )
        }
        None => (false, false),
    };
    if !matches!(f.status.as_str(), "on_sale" | "sold_out") && !can_edit {
        return Err(AppError::new(ErrorCode::ListingUnavailable));
    }
    let card: CardRow = sqlx::query_as(&format!("{} WHERE l.id = $2", card_select(None)))
        .bind(today())
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?;
    let terms: BenefitTerms = serde_json::from_str(&f.benefit_terms).map_err(AppError::internal)?;
    let per_unit = terms.per_unit(Fen::new(f.price_fen));
    let mut breakdown = Vec::new();
    let mut stories = Vec::new();
    for (hid, amount) in &per_unit {
        let (name, village, consent, story): (String, String, i64, Option<String>) = sqlx::query_as(&format!(
            "SELECT h.head_name, v.name, h.story_consent, {} FROM households h JOIN regions v ON v.code = h.region_code WHERE h.id = $1",
            crate::shops::server::HOUSEHOLD_STORY_SQL
        ))
        .bind(hid)
        .fetch_one(&primary.pool)
        .await
        .map_err(AppError::internal)?;
        let label = if consent == 1 {
            name
        } else {
            format!("{village} 农户")
        };
        if consent == 1 {
            stories.extend(story.filter(|s| !s.trim().is_empty()));
        }
        breakdown.push(PriceShare {
            label,
            amount_fen: *amount,
        });
    }
    let certificate: Option<String> = sqlx::query_scalar(
        "SELECT number || ' (' || valid_from || ' – ' || valid_until || ')' FROM certificates
          WHERE listing_id = $1 AND valid_from <= $2 AND valid_until >= $2 AND revoked_at IS NULL
          ORDER BY valid_until DESC LIMIT 1",
    )
    .bind(id)
    .bind(today())
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    let photos = photos_of(db, id).await?;
    let added: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) FROM ledger_entries e
           JOIN order_items i ON i.id = e.order_item_id WHERE i.listing_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(ListingDetail {
        card: card.into(),
        costs: f.costs(),
        description: f.description,
        description_en: f.description_en,
        harvest_date: f.harvest_date,
        to_households_per_unit_fen: per_unit.iter().map(|p| p.1).sum(),
        breakdown,
        stories,
        certificate,
        photos,
        added_to_incomes_fen: added,
        can_edit,
        can_moderate,
        share_url: format!(
            "{}{}",
            crate::ui::meta::site_origin().unwrap_or_default(),
            crate::domain::shop::ShareKey::Listing(id).short_path()
        ),
    })
}

async fn photos_of(db: &Db, listing_id: i64) -> Result<Vec<PhotoView>, AppError> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, path, thumb_path, medium_path FROM listing_photos WHERE listing_id = $1 ORDER BY position",
    )
    .bind(listing_id)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?;
    Ok(rows
        .into_iter()
        .map(|(id, path, thumb, medium)| PhotoView {
            id,
            url: public_url(&path),
            medium_url: medium.as_deref().map(public_url),
            thumb_url: public_url(&thumb),
        })
        .collect())
}

/// The county a seller's produce comes from: the household's (`household`), else the
/// organisation's (`org`); none for neither or an unknown one.
async fn seller_county(
    db: &Db,
    household: Option<i64>,
    org: Option<i64>,
) -> Result<Option<RegionCode>, AppError> {
    let (sql, id) = match (household, org) {
        (Some(h), _) => ("SELECT region_code FROM households WHERE id = $1", h),
        (None, Some(o)) => ("SELECT region_code FROM organisations WHERE id = $1", o),
        (None, None) => return Ok(None),
    };
    let region: Option<String> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(region
        .and_then(|r| RegionCode::parse(&r).ok())
        .and_then(|r| r.county()))
}

/// Passes when `user` sells listing `id`; 404 for no such listing, 403 for someone else's.
pub async fn require_seller(db: &Db, user: &CurrentUser, id: i64) -> Result<(), AppError> {
    facts(db, id).await?;
    let pf = policy::listing_facts(db, user, id).await?;
    policy::require(user, Action::SellListing, &pf)
}

pub async fn editable_listing(id: i64) -> Result<ListingEditView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    require_seller(db, &user, id).await?;
    let f = facts(db, id).await?;
    type Row = (String, String, String, String, i64, i64, i64);
    let (title, title_en, category, unit, stock, version, surcharge): Row =
        sqlx::query_as("SELECT title, title_en, category, unit, stock, version, shipping_surcharge_fen FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
    let terms: BenefitTerms = serde_json::from_str(&f.benefit_terms).map_err(AppError::internal)?;
    let pairs = |v: Vec<(i64, Fen)>| {
        v.into_iter()
            .map(|(h, x)| format!("{h}:{}", x.plain_yuan()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (terms_kind, terms_text) = match terms {
        BenefitTerms::Direct { .. } => (None, None),
        BenefitTerms::PerUnit(v) => (Some("per_unit"), Some(pairs(v))),
        BenefitTerms::Shares(v) => (
            Some("shares"),
            Some(pairs(
                v.into_iter().map(|(h, bp)| (h, Fen::new(bp))).collect(),
            )),
        ),
    };
    let costs = f.costs();
    let form = ListingForm {
        id: Some(id),
        household_id: f.household_id,
        title,
        title_en: Some(title_en),
        category,
        description: f.description.clone(),
        description_en: Some(f.description_en.clone()),
        unit,
        price: Fen::new(f.price_fen).plain_yuan(),
        stock,
        origin_code: f.origin_code,
        harvest_date: f.harvest_date,
        shipping_surcharge: (surcharge > 0).then(|| Fen::new(surcharge).plain_yuan()),
        status: f.status,
        terms_kind: terms_kind.map(str::to_owned),
        terms: terms_text,
        terms_by: None,
        cost: costs.costs.map(Fen::plain_yuan),
        logistics: costs.logistics.map(Fen::plain_yuan),
        margin: costs.margin.map(Fen::plain_yuan),
        version: Some(version),
        stock_was: Some(stock),
    };
    Ok(ListingEditView {
        form,
        photos: photos_of(db, id).await?,
        desk: seller_desk(None).await?,
    })
}

pub async fn delete_photo(photo_id: i64) -> Result<(), AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let listing: i64 = sqlx::query_scalar("SELECT listing_id FROM listing_photos WHERE id = $1")
        .bind(photo_id)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    require_seller(db, &user, listing).await?;
    super::photos::remove(db, &state.settings.upload_dir, photo_id).await
}

fn invalid(field: &str) -> AppError {
    AppError::new(ErrorCode::InvalidListing).field(field)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn save_listing(form: &ListingForm) -> Result<i64, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    save_listing_as(&state.db, &user, form).await
}

/// Who sells what `form` saves (the household, the organisation), and the listing as stored
/// when it updates one: passes only when `user` may sell for them (and, for an update, sells
/// that listing, which never moves to another seller). Checked before anything else is read.
pub async fn may_save(
    db: &Db,
    user: &CurrentUser,
    form: &ListingForm,
) -> Result<(Option<i64>, Option<i64>, Option<ListingFacts>), AppError> {
    // Who sells: the household itself, a cadre for a paired household, or a co-op manager.
    let (household, org) = match user.role {
        Role::Household => (user.household_id, None),
        Role::Cadre => (
            Some(form.household_id.ok_or_else(|| invalid("household_id"))?),
            None,
        ),
        Role::OrgManager => (None, user.organisation_id),
        _ => (None, None),
    };
    let pf = policy::seller_facts(db, user, household, org).await?;
    policy::require(user, Action::SellListing, &pf)?;
    let stored = match form.id {
        Some(id) => {
            let f = facts(db, id).await?;
            let existing = policy::listing_facts(db, user, id).await?;
            policy::require(user, Action::SellListing, &existing)?;
            // An edit never moves a listing to another seller.
            if f.household_id != household || f.organisation_id != org {
                return Err(AppError::new(ErrorCode::Forbidden));
            }
            Some(f)
        }
        None => None,
    };
    Ok((household, org, stored))
}

/// Saves `form` for `user`: the body of `save-listing`, and of the new-listing form that
/// brings its photos (`photos::create`). On an update, an English text or a declared cost the
/// form leaves out keeps its stored value (a client that does not know the field clears
/// nothing); sent empty, it is cleared.
pub async fn save_listing_as(
    db: &Db,
    user: &CurrentUser,
    form: &ListingForm,
) -> Result<i64, AppError> {
    let (household, org, stored) = may_save(db, user, form).await?;
    let user = user.clone();
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(invalid("title"));
    }
    let unit = form.unit.trim();
    if unit.is_empty() || unit.chars().count() > 20 {
        return Err(invalid("unit"));
    }
    if form.description.chars().count() > 2000 {
        return Err(invalid("description"));
    }
    // English is optional; longer words, so a longer title.
    let title_en = match (&form.title_en, &stored) {
        (Some(t), _) => t.trim().to_owned(),
        (None, Some(f)) => f.title_en.clone(),
        (None, None) => String::new(),
    };
    if title_en.chars().count() > 100 {
        return Err(invalid("title_en"));
    }
    let description_en = match (&form.description_en, &stored) {
        (Some(d), _) => d.trim().to_owned(),
        (None, Some(f)) => f.description_en.clone(),
        (None, None) => String::new(),
    };
    if description_en.chars().count() > 2000 {
        return Err(invalid("description_en"));
    }
    let mut costs = DeclaredCosts::parse(
        form.cost.as_deref(),
        form.logistics.as_deref(),
        form.margin.as_deref(),
    )
    .map_err(|e| invalid(e.field))?;
    let kept = stored.as_ref().map(ListingFacts::costs).unwrap_or_default();
    if form.cost.is_none() {
        costs.costs = kept.costs;
    }
    if form.logistics.is_none() {
        costs.logistics = kept.logistics;
    }
    if form.margin.is_none() {
        costs.margin = kept.margin;
    }
    let category = Category::parse(&form.category).ok_or_else(|| invalid("category"))?;
    let status = ListingStatus::parse(&form.status).ok_or_else(|| invalid("status"))?;
    let price = Fen::parse_yuan(&form.price)
        .ok()
        .filter(|p| p.fen() > 0 && *p <= Fen::MAX_PRICE)
        .ok_or_else(|| invalid("price"))?;
    if !(0..=1_000_000).contains(&form.stock) {
        return Err(invalid("stock"));
    }
    let harvest = form
        .harvest_date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if harvest.is_some_and(|d| !is_date(d)) {
        return Err(invalid("harvest_date"));
    }
    let surcharge = match form.shipping_surcharge.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => Fen::parse_yuan(s)
            .ok()
            .filter(|f| f.fen() >= 0 && *f <= crate::domain::delivery::MAX_FEE)
            .ok_or_else(|| invalid("shipping_surcharge"))?
            .fen(),
    };
    let origin = RegionCode::parse(&form.origin_code).map_err(|_| invalid("origin_code"))?;
    // Produce comes from where its seller is: the household's county, or the co-op's.
    let seller_county = seller_county(db, household, org).await?;
    if !seller_county.is_some_and(|c| c.contains(&origin)) {
        return Err(AppError::new(ErrorCode::OriginOutsideCounty).field("origin_code"));
    }
    let origin_known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions WHERE code = $1")
        .bind(origin.as_str())
        .fetch_one(&db.pool)
        .await
        .map_err(AppError::internal)?;
    if origin_known == 0 {
        return Err(invalid("origin_code"));
    }
    let terms = match (household, org) {
        (Some(h), _) => BenefitTerms::Direct { household_id: h },
        (None, Some(o)) => {
            let bad_terms = || AppError::new(ErrorCode::InvalidTerms).field("terms");
            let kind = form.terms_kind.as_deref().unwrap_or("");
            // The editor's rows (`terms_by[household] = value`), else the typed text.
            let terms = match &form.terms_by {
                Some(rows) if !rows.is_empty() => {
                    if rows.len() > MAX_SELLABLE_HOUSEHOLDS as usize + MAX_TERMS_OUTSIDE {
                        return Err(bad_terms());
                    }
                    let rows = rows
                        .iter()
                        .map(|(h, v)| h.trim().parse::<i64>().map(|h| (h, v.as_str())))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|_| bad_terms())?;
                    BenefitTerms::from_pairs(kind, rows)
                }
                _ => BenefitTerms::parse(kind, form.terms.as_deref().unwrap_or("")),
            }
            .map_err(|_| bad_terms())?;
            terms
                .validate(price)
                .map_err(|_| AppError::new(ErrorCode::InvalidTerms).field("terms"))?;
            let ids: Vec<i64> = match &terms {
                BenefitTerms::PerUnit(v) => v.iter().map(|p| p.0).collect(),
                BenefitTerms::Shares(v) => v.iter().map(|p| p.0).collect(),
                BenefitTerms::Direct { .. } => Vec::new(),
            };
            // Only households linked to this co-op (利益联结) may be named.
            for h in ids {
                let linked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM benefit_links WHERE household_id = $1 AND organisation_id = $2")
                    .bind(h)
                    .bind(o)
                    .fetch_one(&db.pool)
                    .await
                    .map_err(AppError::internal)?;
                if linked == 0 {
                    return Err(AppError::new(ErrorCode::InvalidTerms).field("terms"));
                }
            }
            terms
        }
        (None, None) => return Err(AppError::new(ErrorCode::Forbidden)),
    };
    // Only a co-op keeps part of the price (a household's own produce pays it all): what it
    // declares of that part, with the households' shares, stays within the price.
    if !costs.is_empty() {
        if org.is_none() {
            return Err(invalid("cost"));
        }
        let to_households = terms
            .per_unit(price)
            .iter()
            .try_fold(Fen::ZERO, |a, (_, f)| a.checked_add(Fen::new(*f)))
            .ok_or_else(|| AppError::new(ErrorCode::CostsOverPrice).field("cost"))?;
        costs
            .check(price, to_households)
            .map_err(|e| AppError::new(ErrorCode::CostsOverPrice).field(e.field))?;
    }
    let terms_json = serde_json::to_string(&terms).map_err(AppError::internal)?;
    // An update names the version and stock its form was loaded with.
    let loaded = match form.id {
        Some(_) => Some((
            form.version.ok_or_else(|| invalid("version"))?,
            form.stock_was
                .filter(|s| (0..=1_000_000).contains(s))
                .ok_or_else(|| invalid("stock_was"))?,
        )),
        None => None,
    };
    let mut tx = db.begin_write().await.map_err(AppError::from)?;
    // A change of what the product is, or where it comes from, voids its 扶贫产品 certificate
    // until an official records a new one.
    let mut moved_from = None;
    if let Some(id) = form.id {
        let (t0, c0, o0): (String, String, String) =
            sqlx::query_as("SELECT title, category, origin_code FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(AppError::internal)?;
        if t0 != title || c0 != category.as_str() || o0 != origin.as_str() {
            sqlx::query("UPDATE certificates SET revoked_at = $1 WHERE listing_id = $2 AND revoked_at IS NULL")
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(AppError::internal)?;
        }
        if o0 != origin.as_str() {
            moved_from = Some(o0);
        }
    }
    // Insert and update bind the same fields in the same order ($1–$11), then their own
    // ($12–$14), then the same again ($15–$20). The
    // update applies the stock as a change from what the form showed, only at the version the
    // form was loaded at, and never below zero.
    let sql = match form.id {
        Some(_) => {
            "UPDATE listings SET title = $1, category = $2, description = $3, unit = $4, price_fen = $5,
                    stock = stock + ($6 - $14),
                    origin_code = $7, harvest_date = $8, status = $9, benefit_terms = $10, updated_at = $11,
                    version = version + 1, shipping_surcharge_fen = $15, title_en = $16, description_en = $17,
                    cost_fen = $18, logistics_fen = $19, margin_fen = $20
              WHERE id = $12 AND version = $13 AND stock + ($6 - $14) >= 0 RETURNING id"
        }
        None => {
            "INSERT INTO listings (title, category, description, unit, price_fen, stock, origin_code, harvest_date, status,
                                   benefit_terms, updated_at, created_at, household_id, organisation_id, created_by,
                                   shipping_surcharge_fen, title_en, description_en, cost_fen, logistics_fen, margin_fen)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id"
        }
    };
    let query = sqlx::query_scalar::<_, i64>(sql)
        .bind(title)
        .bind(category.as_str())
        .bind(form.description.trim())
        .bind(unit)
        .bind(price.fen())
        .bind(form.stock)
        .bind(origin.as_str())
        .bind(harvest)
        .bind(status.as_str())
        .bind(&terms_json)
        .bind(now());
    let query = match (form.id, loaded) {
        (Some(id), Some((version, stock_was))) => query.bind(id).bind(version).bind(stock_was),
        _ => query.bind(household).bind(org).bind(user.id),
    }
    .bind(surcharge)
    .bind(title_en)
    .bind(description_en)
    .bind(costs.costs.map(Fen::fen))
    .bind(costs.logistics.map(Fen::fen))
    .bind(costs.margin.map(Fen::fen));
    let Some(id) = query
        .fetch_optional(&mut *tx)
        .await
        .map_err(AppError::internal)?
    else {
        // Saved by someone else since (another version), or fewer units left than the form
        // takes away: nothing changes, the seller reloads.
        return Err(AppError::new(ErrorCode::StaleListing));
    };
    // Its paid sales count under the new origin now, as the dashboard's GMV says.
    if let Some(old) = moved_from {
        crate::ledger::rollup::listing_moved(&mut tx, id, &old, origin.as_str()).await?;
    }
    tx.commit().await.map_err(AppError::internal)?;
    Ok(id)
}

pub async fn set_stalled(
    listing_id: i64,
    stalled: bool,
    reason: Option<&str>,
    quantity: Option<i64>,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    facts(db, listing_id).await?;
    let pf = policy::listing_facts(db, &user, listing_id).await?;
    policy::require(&user, Action::FlagStalled, &pf)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if stalled && (reason.is_none() || reason.is_some_and(|r| r.chars().count() > 200)) {
        return Err(invalid("reason"));
    }
    if quantity.is_some_and(|q| !(0..=10_000_000).contains(&q)) {
        return Err(invalid("quantity"));
    }
    sqlx::query("UPDATE listings SET stalled = $1, stalled_reason = $2, stalled_quantity = $3, updated_at = $4 WHERE id = $5")
        .bind(i64::from(stalled))
        .bind(if stalled { reason } else { None })
        .bind(if stalled { quantity } else { None })
        .bind(now())
        .bind(listing_id)
        .execute(db.writer())
        .await
        .map_err(AppError::from)?;
    Ok(())
}

pub async fn certify(
    listing_id: i64,
    number: &str,
    from: &str,
    until: &str,
) -> Result<(), AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    facts(db, listing_id).await?;
    let pf = policy::listing_facts(db, &user, listing_id).await?;
    policy::require(&user, Action::Certify, &pf)?;
    let number = number.trim();
    if number.is_empty() || number.chars().count() > 40 {
        return Err(invalid("number"));
    }
    if !is_date(from) || !is_date(until) || from > until {
        return Err(invalid("valid_until"));
    }
    sqlx::query("INSERT INTO certificates (listing_id, number, valid_from, valid_until, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(listing_id)
        .bind(number)
        .bind(from)
        .bind(until)
        .bind(user.id)
        .bind(now())
        .execute(db.writer())
        .await
        .map_err(AppError::from)?;
    Ok(())
}

pub async fn seller_desk(after: Option<&str>) -> Result<SellerDeskView, AppError> {
    let state = AppState::get()?;
    let db = &state.db;
    let user = require_user().await?;
    let (kind, households_sql, bind, listings_cond) = match user.role {
        Role::Household => (
            "household",
            "SELECT h.id, h.head_name, h.region_code FROM households h WHERE h.id = $1",
            user.household_id.ok_or_else(|| AppError::new(ErrorCode::Forbidden))?,
            "l.household_id = $2",
        ),
        Role::Cadre => (
            "cadre",
            "SELECT h.id, h.head_name, h.region_code FROM households h JOIN cadre_pairings p ON p.household_id = h.id WHERE p.user_id = $1 ORDER BY h.id",
            user.id,
            "l.household_id IN (SELECT household_id FROM cadre_pairings WHERE user_id = $2)",
        ),
        Role::OrgManager => (
            "organisation",
            "SELECT DISTINCT h.id, h.head_name, h.region_code FROM households h JOIN benefit_links b ON b.household_id = h.id WHERE b.organisation_id = $1 ORDER BY h.id",
            user.organisation_id.ok_or_else(|| AppError::new(ErrorCode::Forbidden))?,
            "l.organisation_id = $2",
        ),
        _ => return Err(AppError::new(ErrorCode::Forbidden)),
    };
    // The households one may list for fill a select; a co-op has dozens, so the first
    // MAX_SELLABLE_HOUSEHOLDS are plenty (and keep the page bounded).
    let households: Vec<SellableFor> = sqlx::query_as::<_, (i64, String, String)>(&format!(
        "{households_sql} LIMIT {MAX_SELLABLE_HOUSEHOLDS}"
    ))
    .bind(bind)
    .fetch_all(&db.pool)
    .await
    .map_err(AppError::internal)?
    .into_iter()
    .map(|(household_id, label, village_code)| SellableFor {
        household_id,
        label,
        village_code,
    })
    .collect();
    // A co-op's produce comes from its own county; a household's from its village.
    let within = match user.role {
        Role::OrgManager => seller_county(db, None, Some(bind)).await?,
        _ => None,
    };
    let origins = origin_options(db, &households, within.as_ref()).await?;
    let cursor = BY_ID_DESC.parse(after)?;
    let query = format!(
        "{} WHERE {listings_cond} AND {} ORDER BY {} LIMIT {}",
        card_select(Some(&BY_ID_DESC)),
        BY_ID_DESC.condition(cursor.as_ref(), 3),
        BY_ID_DESC.order_by(),
        SELLER_DESK_PAGE_SIZE + 1
    );
    let query = sqlx::query_as::<_, CardRow>(&query)
        .bind(today())
        .bind(bind);
    let listings = keyset::bind_keys(query, cursor.as_ref())
        .fetch_all(&db.pool)
        .await
        .map_err(AppError::internal)?;
    let shops = match (user.role, user.organisation_id) {
        (Role::OrgManager, Some(org)) => vec![DeskShop {
            key: ShopKey::Organisation(org).to_string(),
            name: user
                .organisation_name
                .clone()
                .unwrap_or_else(|| ShopKey::Organisation(org).to_string()),
            has_page: true,
        }],
        _ => {
            let ids: Vec<i64> = households.iter().map(|h| h.household_id).collect();
            let selling = crate::shops::server::with_pages(db, &ids).await?;
            households
                .iter()
                .map(|h| DeskShop {
                    key: ShopKey::Household(h.household_id).to_string(),
                    name: h.label.clone(),
                    has_page: selling.contains(&h.household_id),
                })
                .collect()
        }
    };
    Ok(SellerDeskView {
        seller_kind: kind.to_owned(),
        shops,
        default_origin: households.first().map(|h| h.village_code.clone()),
        households,
        origins,
        listings: keyset::page(listings, SELLER_DESK_PAGE_SIZE, ListingCard::from),
    })
}
