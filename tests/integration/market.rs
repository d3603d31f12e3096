//! Integration tests of the market's catalogue and listings: full-text search, the "households
//! under monitoring" filter, photo uploads, and editing a listing. Every case runs on SQLite, and
//! on PostgreSQL when `TEST_DATABASE_URL` is set.

use crate::common;

use common::{count, demo_login, form_fields, listing_id, post_fields, set, Client, TestApp};
use serde_json::Value;

on_both_backends! {
    search_matches_words_in_chinese_and_english;
    search_follows_edits;
    search_ranks_titles_first_counts_and_suggests;
    monitored_filter_follows_the_households_incomes;
    photos_are_checked_resized_and_served;
    photo_limits_and_strangers_change_nothing;
    sellers_edit_their_own_listings;
    demo_pictures_are_painted_once;
    pages_name_themselves_for_tabs_search_and_sharing;
    shops_show_what_they_sell_and_what_it_did;
    short_links_and_qr_codes_lead_to_shops_and_listings;
    reviews_come_after_delivery_once_with_a_reply_and_moderation;
    english_titles_are_shown_and_searched;
    co_ops_declare_the_rest_of_the_price;
    a_new_listing_comes_with_its_photos;
    shops_keep_their_own_words_in_both_languages;
}

const COOP: &str = "coop.zhenghe@demo.zhunong.cn";
const WHITE_TEA: &str = "政和白茶·白牡丹（演示）";

async fn search(app: &TestApp, fields: &[(&str, &str)]) -> Vec<String> {
    let r = Client::new(app)
        .post_form("/api/market/catalogue", fields)
        .await;
    assert_eq!(r.status, 200, "{fields:?}: {}", r.body);
    r.json()["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn titles_for(app: &TestApp, q: &str) -> Vec<String> {
    search(app, &[("query[q]", q)]).await
}

/// A PNG of `w`×`h` with a gradient, as a phone or a scanner might send.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

async fn upload(c: &mut Client, listing: i64, files: &[(&str, &[u8])]) -> common::Response {
    let parts: Vec<common::FilePart<'_>> = files
        .iter()
        .map(|(name, bytes)| ("photo", *name, "image/png", *bytes))
        .collect();
    c.post_multipart(
        "/api/market/photos",
        &[("listing_id", &listing.to_string())],
        &parts,
    )
    .await
}

async fn photo_count(app: &TestApp, listing: i64) -> i64 {
    count(
        &app.db,
        &format!("SELECT COUNT(*) FROM listing_photos WHERE listing_id = {listing}"),
    )
    .await
}

/// Files under the app's upload directory, recursively.
fn stored_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    walk(&app.upload_dir)
}

/// The seller's edit form of `id`, as its fields.
async fn edit_fields(c: &mut Client, id: i64) -> Vec<(String, String)> {
    let r = c
        .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    form_fields(&r.json()["form"])
}

async fn listing_json(app: &TestApp, id: i64) -> Value {
    let r = Client::new(app)
        .post_form("/api/market/listing", &[("id", &id.to_string())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Sends the new-listing form with its photos.
async fn create_with_photos(
    c: &mut Client,
    fields: &[(String, String)],
    files: &[(&str, &[u8])],
) -> common::Response {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let parts: Vec<common::FilePart<'_>> = files
        .iter()
        .map(|(name, bytes)| ("photo", *name, "image/png", *bytes))
        .collect();
    c.post_multipart("/api/market/new-listing", &refs, &parts)
        .await
}

mod cases {
    use super::*;

    pub async fn search_matches_words_in_chinese_and_english(app: TestApp) {
        // Three or more characters go through the trigram index, fewer through LIKE; both must
        // find a word in the middle of a Chinese title, which has no spaces.
        for q in ["白牡丹", "牡丹", "白茶·白", "Zhenghe", "zhenghe", "ZHENGHE"] {
            let found = titles_for(&app, q).await;
            assert!(
                found.iter().any(|t| t == WHITE_TEA),
                "{q:?} should find {WHITE_TEA}: {found:?}"
            );
        }
        // The co-op's name and the origin village are searchable too.
        let by_coop = titles_for(&app, "专业合作社").await;
        assert!(by_coop.iter().any(|t| t == WHITE_TEA), "{by_coop:?}");
        // Every word must match: a county and a word from another county's listing find nothing.
        assert!(titles_for(&app, "政和 芦柑").await.is_empty());
        let both = titles_for(&app, "政和 白牡丹").await;
        assert_eq!(both, vec![WHITE_TEA.to_owned()]);
        // Category names in either language.
        let tea = search(&app, &[("query[q]", "tea")]).await;
        assert!(tea.iter().any(|t| t == WHITE_TEA));
        // Nothing matches nonsense, and LIKE wildcards or FTS syntax are plain text.
        assert!(titles_for(&app, "不存在的货品").await.is_empty());
        assert!(titles_for(&app, "\"白牡丹").await.is_empty());
        assert!(titles_for(&app, "白_丹").await.is_empty());
        assert!(titles_for(&app, "OR NEAR AND").await.is_empty());
        // Too long a query is a clear 400.
        let r = Client::new(&app)
            .post_form("/api/market/catalogue", &[("query[q]", &"茶".repeat(51))])
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "bad_request");
    }

    pub async fn search_ranks_titles_first_counts_and_suggests(app: TestApp) {
        // A stalled listing that mentions white tea only in its description: by need alone it
        // would lead; a search for 白茶 puts every listing with 白茶 in its title first.
        let (other, id): (String, i64) = sqlx::query_as(
            "SELECT title, id FROM listings WHERE status = 'on_sale' AND stalled = 1 AND title NOT LIKE '%白茶%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE listings SET description = description || ' 可配白茶。' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = Client::new(&app)
            .post_form("/api/market/search", &[("query[q]", "白茶")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        let cards = v["page"]["items"].as_array().expect("cards").clone();
        let on_sale: Vec<&str> = cards
            .iter()
            .filter(|c| c["status"] != "sold_out")
            .map(|c| c["title"].as_str().unwrap_or_default())
            .collect();
        let at = on_sale
            .iter()
            .position(|t| *t == other)
            .unwrap_or_else(|| panic!("{other} is found by its description: {on_sale:?}"));
        assert!(at > 0, "{on_sale:?}");
        assert!(
            on_sale[..at].iter().all(|t| t.contains("白茶"))
                && on_sale[at..].iter().all(|t| !t.contains("白茶")),
            "titles with 白茶 first: {on_sale:?}"
        );
        // The count is of every match, and the catalogue's plain answer holds the same set.
        assert_eq!(v["total"].as_i64(), Some(cards.len() as i64), "{v}");
        assert_eq!(v["more"], false);
        let mut plain = titles_for(&app, "白茶").await;
        let mut ranked: Vec<String> = cards
            .iter()
            .map(|c| c["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        plain.sort();
        ranked.sort();
        assert_eq!(plain, ranked);
        assert!(v["suggestions"].as_array().expect("a list").is_empty());
        // A search with no hit suggests produce that needs buyers: stalled or certified.
        let r = Client::new(&app)
            .post_form("/api/market/search", &[("query[q]", "不存在的货品")])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["total"], 0);
        assert!(v["page"]["items"].as_array().expect("a list").is_empty());
        let suggested = v["suggestions"].as_array().expect("a list");
        assert!(!suggested.is_empty(), "{v}");
        for c in suggested {
            assert!(c["stalled"] == true || c["certified"] == true, "{c}");
        }
        // The page says how many it found, and suggests on a miss, without a script.
        let mut html = Client::new(&app);
        html.accept = "text/html";
        let page = html.get("/market?q=%E7%99%BD%E8%8C%B6").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!("共 {} 件货品", cards.len())),
            "the count is in the page"
        );
        let page = html.get("/market?q=%E4%B8%8D%E5%AD%98%E5%9C%A8").await;
        assert!(
            page.body.contains("data-testid=\"suggestions\""),
            "suggestions in the page"
        );
    }

    pub async fn search_follows_edits(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let edit = coop
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await;
        assert_eq!(edit.status, 200, "{}", edit.body);
        let form = edit.json()["form"].clone();
        let mut fields: Vec<(String, String)> = form_fields(&form);
        set(&mut fields, "form[title]", "高山银针白茶");
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            titles_for(&app, "白牡丹").await.is_empty(),
            "old title gone"
        );
        assert_eq!(
            titles_for(&app, "银针白").await,
            vec!["高山银针白茶".to_owned()]
        );
        assert_eq!(
            titles_for(&app, "银针").await,
            vec!["高山银针白茶".to_owned()]
        );
    }

    pub async fn monitored_filter_follows_the_households_incomes(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let beneficiaries: Vec<i64> = sqlx::query_scalar(
            "SELECT household_id FROM listing_beneficiaries WHERE listing_id = $1 ORDER BY household_id",
        )
        .bind(id)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        // The co-op's declared terms name its linked households: the derived table has them.
        let terms: String = sqlx::query_scalar("SELECT benefit_terms FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let terms: Value = serde_json::from_str(&terms).unwrap();
        let mut named: Vec<i64> = terms["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_i64().unwrap())
            .collect();
        named.sort_unstable();
        assert_eq!(beneficiaries, named);
        assert!(!named.is_empty());

        let line: i64 = sqlx::query_scalar(
            "SELECT per_capita_fen FROM monitoring_lines ORDER BY year DESC LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let set_baseline = |household: i64, year: i64, fen: i64| {
            let pool = app.db.pool.clone();
            async move {
                sqlx::query("INSERT INTO household_baselines (household_id, year, per_capita_fen) VALUES ($1, $2, $3)")
                    .bind(household)
                    .bind(year)
                    .bind(fen)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        };
        let monitored = || search(&app, &[("query[monitored]", "1")]);
        // All its households well above the line (a later baseline than any in the demo).
        for h in &named {
            set_baseline(*h, 2100, line * 3).await;
        }
        assert!(!monitored().await.iter().any(|t| t == WHITE_TEA));
        // One falls to within 1.5× the line: the listing now helps a household under monitoring.
        set_baseline(named[0], 2101, line * 3 / 2).await;
        assert!(monitored().await.iter().any(|t| t == WHITE_TEA));
        // Every listing the filter shows benefits such a household, by its latest baseline.
        for title in monitored().await {
            let lid = listing_id(&app, &title).await;
            let near: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM listing_beneficiaries lb WHERE lb.listing_id = $1 AND
                   (SELECT b.per_capita_fen FROM household_baselines b WHERE b.household_id = lb.household_id ORDER BY b.year DESC LIMIT 1) * 2 <= $2 * 3",
            )
            .bind(lid)
            .bind(line)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
            assert!(near > 0, "{title} does not help a monitored household");
        }
        // And combines with the other filters.
        let tea = search(
            &app,
            &[("query[monitored]", "1"), ("query[category]", "fruit")],
        )
        .await;
        assert!(!tea.iter().any(|t| t == WHITE_TEA));
    }

    pub async fn photos_are_checked_resized_and_served(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let big = png(2400, 1800);
        let r = upload(
            &mut coop,
            id,
            &[("tea.png", &big), ("tea2.png", &png(300, 300))],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["added"], 2);
        assert_eq!(photo_count(&app, id).await, 2);
        assert_eq!(
            stored_files(&app),
            5,
            "a display copy and a thumbnail each, and a phone copy of the large one"
        );

        // Buyers see them on the listing page and the first one on the catalogue card.
        let d = Client::new(&app)
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await
            .json();
        let photos = d["photos"].as_array().unwrap().clone();
        assert_eq!(photos.len(), 2);
        let cards = Client::new(&app)
            .post_form("/api/market/catalogue", &[("query[q]", "白牡丹")])
            .await
            .json();
        assert_eq!(cards["items"][0]["photo"], photos[0]["thumb_url"]);

        // Served as JPEG: the display copy at most 1600 px, the thumbnail 480×360.
        let mut anon = Client::new(&app);
        let full = anon.get(photos[0]["url"].as_str().unwrap()).await;
        assert_eq!(full.status, 200);
        assert_eq!(full.header("content-type"), Some("image/jpeg"));
        assert!(full
            .header("cache-control")
            .is_some_and(|v| v.contains("immutable")));
        let img = image::load_from_memory(&full.bytes).expect("a picture");
        assert_eq!((img.width(), img.height()), (1600, 1200));
        let thumb = anon.get(photos[0]["thumb_url"].as_str().unwrap()).await;
        let t = image::load_from_memory(&thumb.bytes).expect("a thumbnail");
        assert_eq!((t.width(), t.height()), (480, 360));
        // The phone copy: 960×720, offered to the browser in the gallery's srcset; the small
        // photo has none (it would only be scaled up).
        let medium_url = photos[0]["medium_url"].as_str().expect("a phone copy");
        let m = image::load_from_memory(&anon.get(medium_url).await.bytes).expect("a picture");
        assert_eq!((m.width(), m.height()), (960, 720));
        assert!(photos[1]["medium_url"].is_null());
        let mut page = Client::new(&app);
        page.accept = "text/html";
        let html = page.get(&format!("/listing/{id}")).await.body;
        let url = photos[0]["url"].as_str().unwrap();
        let thumb_url = photos[0]["thumb_url"].as_str().unwrap();
        assert!(
            html.contains(&format!(
                "srcset=\"{thumb_url} 480w, {medium_url} 960w, {url} 1600w\""
            )),
            "{}",
            html[html.find("gallery-main").unwrap_or(0)..]
                .chars()
                .take(600)
                .collect::<String>()
        );
        assert_eq!(
            anon.get("/uploads/listings/../../test.db").await.status,
            404
        );

        // A browser's form (no script) is sent back to the edit page.
        coop.accept = "text/html";
        let r = upload(&mut coop, id, &[("third.png", &png(64, 48))]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(
            r.header("location"),
            Some(format!("/listing/{id}/edit?photos_added=1#photos").as_str())
        );
        let r = upload(&mut coop, id, &[("notes.txt", b"hello")]).await;
        assert_eq!(r.status, 303);
        assert_eq!(
            r.header("location"),
            Some(format!("/listing/{id}/edit?photo_error=photo_type#photos").as_str())
        );
        coop.accept = "application/json";

        // The seller removes one: its row and its three files go.
        let first = photos[0]["id"].as_i64().unwrap();
        let r = coop
            .post_form(
                "/api/market/delete-photo",
                &[("photo_id", &first.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(photo_count(&app, id).await, 2);
        assert_eq!(stored_files(&app), 4);
        assert_eq!(
            anon.get(photos[0]["url"].as_str().unwrap()).await.status,
            404
        );
    }

    pub async fn photo_limits_and_strangers_change_nothing(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let small = png(40, 30);
        // No session; a buyer; another seller: refused before anything is stored.
        let r = upload(&mut Client::new(&app), id, &[("a.png", &small)]).await;
        assert_eq!(r.status, 401, "{}", r.body);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            upload(&mut buyer, id, &[("a.png", &small)]).await.status,
            403
        );
        let mut household = demo_login(&app, "household@demo.zhunong.cn").await;
        let r = upload(&mut household, id, &[("a.png", &small)]).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["code"], "forbidden");
        assert_eq!(
            upload(&mut household, 999_999, &[("a.png", &small)])
                .await
                .status,
            404
        );

        let mut coop = demo_login(&app, COOP).await.english();
        // Judged by the bytes: a GIF or a script named .png is refused, in the user's language.
        let r = upload(&mut coop, id, &[("x.png", b"GIF89a\x01\x00\x01\x00")]).await;
        assert_eq!(r.status, 415, "{}", r.body);
        assert_eq!(r.json()["code"], "photo_type");
        assert!(r.json()["message"].as_str().unwrap().contains("JPEG"));
        let r = upload(&mut coop, id, &[("x.png", b"<script>alert(1)</script>")]).await;
        assert_eq!(r.status, 415);
        // A PNG that ends early.
        let mut broken = png(50, 50);
        broken.truncate(60);
        let r = upload(&mut coop, id, &[("x.png", &broken)]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "photo_unreadable");
        // Over 5 MB.
        let mut huge = png(10, 10);
        huge.resize(5 * 1024 * 1024 + 10, 0);
        let r = upload(&mut coop, id, &[("big.png", &huge)]).await;
        assert_eq!(r.status, 413, "{}", r.body);
        assert_eq!(r.json()["code"], "photo_too_large");
        // No file chosen (a browser still sends an empty part).
        let r = upload(&mut coop, id, &[("", b"")]).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "no_photo");
        // One bad file among good ones: none is kept.
        let r = upload(&mut coop, id, &[("ok.png", &small), ("bad.png", b"GIF89a")]).await;
        assert_eq!(r.status, 415);
        assert_eq!(photo_count(&app, id).await, 0);
        assert_eq!(stored_files(&app), 0);

        // Six at most: five, then two more is refused whole, then one fits.
        let five: Vec<(&str, &[u8])> = (0..5).map(|_| ("p.png", small.as_slice())).collect();
        assert_eq!(upload(&mut coop, id, &five).await.status, 200);
        let r = upload(&mut coop, id, &[("a.png", &small), ("b.png", &small)]).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "too_many_photos");
        assert_eq!(photo_count(&app, id).await, 5);
        assert_eq!(stored_files(&app), 10, "the refused files were removed");
        assert_eq!(
            upload(&mut coop, id, &[("c.png", &small)]).await.status,
            200
        );
        assert_eq!(
            upload(&mut coop, id, &[("d.png", &small)]).await.status,
            409
        );
        assert_eq!(photo_count(&app, id).await, 6);

        // Only the seller removes a photo.
        let photo: i64 =
            sqlx::query_scalar("SELECT id FROM listing_photos WHERE listing_id = $1 LIMIT 1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        let r = household
            .post_form(
                "/api/market/delete-photo",
                &[("photo_id", &photo.to_string())],
            )
            .await;
        assert_eq!(r.status, 403);
        let r = buyer
            .post_form("/api/market/delete-photo", &[("photo_id", "999999")])
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(photo_count(&app, id).await, 6);
        assert_eq!(stored_files(&app), 12);
    }

    pub async fn sellers_edit_their_own_listings(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let r = coop
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let e = r.json();
        // The form comes back as the seller typed it: yuan, and `household:amount` terms.
        let price_fen: i64 = sqlx::query_scalar("SELECT price_fen FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let price = e["form"]["price"].as_str().unwrap();
        assert_eq!(
            price.replace('.', "").parse::<i64>().unwrap()
                * if price.contains('.') { 1 } else { 100 },
            price_fen
        );
        assert!(e["form"]["terms"].as_str().unwrap().contains(':'));
        assert_eq!(e["desk"]["seller_kind"], "organisation");
        // The origin is picked from the villages of the co-op's households in its county (the
        // listing's own among them), each named by township and village.
        let origins = e["desk"]["origins"].as_array().expect("origins");
        assert!(!origins.is_empty());
        for o in origins {
            let code = o["code"].as_str().unwrap();
            assert!(code.len() == 12 && code.starts_with("350725"), "{o}");
            assert!(o["name"].as_str().unwrap().contains(' '), "{o}");
        }
        assert!(
            origins
                .iter()
                .any(|o| o["code"] == e["form"]["origin_code"]),
            "{origins:?}"
        );

        // Saving the form unchanged changes nothing that buyers see; a new price and stock do.
        let mut fields = form_fields(&e["form"]);
        assert_eq!(post_fields(&mut coop, &fields).await.status, 200);
        // Each save makes a new version: the next save names it.
        let v: i64 = e["form"]["version"].as_i64().unwrap();
        set(&mut fields, "form[version]", &(v + 1).to_string());
        set(&mut fields, "form[price]", "199.5");
        set(&mut fields, "form[stock]", "7");
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (p, s): (i64, i64) =
            sqlx::query_as("SELECT price_fen, stock FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!((p, s), (19_950, 7));

        // Nobody else may open or save it.
        for login in ["household@demo.zhunong.cn", "buyer@demo.zhunong.cn"] {
            let mut other = demo_login(&app, login).await;
            let r = other
                .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
                .await;
            assert_eq!(r.status, 403, "{login}: {}", r.body);
            set(&mut fields, "form[price]", "1");
            assert_eq!(post_fields(&mut other, &fields).await.status, 403);
        }
        let r = Client::new(&app)
            .post_form("/api/market/editable-listing", &[("id", &id.to_string())])
            .await;
        assert_eq!(r.status, 401);
        let p: i64 = sqlx::query_scalar("SELECT price_fen FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(p, 19_950);
    }

    pub async fn demo_pictures_are_painted_once(app: TestApp) {
        use zhunong::server::seed_market::seed_pictures;
        let listings = count(&app.db, "SELECT COUNT(*) FROM listings WHERE is_demo = 1").await;
        assert!(listings > 0);
        let added = seed_pictures(&app.db, &app.upload_dir)
            .await
            .expect("painted");
        assert_eq!(added as i64, listings * 2);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM listing_photos").await,
            listings * 2
        );
        // Each picture (1200 × 900): the display copy, the 960 × 720 phone copy, the thumbnail.
        assert_eq!(stored_files(&app) as i64, listings * 6);
        // Every picture is a real 4:3 JPEG, served to anyone.
        let id = listing_id(&app, WHITE_TEA).await;
        let d = Client::new(&app)
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await
            .json();
        let thumb = Client::new(&app)
            .get(d["photos"][0]["thumb_url"].as_str().unwrap())
            .await;
        let t = image::load_from_memory(&thumb.bytes).expect("a thumbnail");
        assert_eq!((t.width(), t.height()), (480, 360));
        // A photo the seller removes stays removed: the pictures are made once per database.
        let mut coop = demo_login(&app, COOP).await;
        let photo = d["photos"][0]["id"].as_i64().unwrap().to_string();
        let r = coop
            .post_form("/api/market/delete-photo", &[("photo_id", &photo)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(seed_pictures(&app.db, &app.upload_dir).await.unwrap(), 0);
        assert_eq!(photo_count(&app, id).await, 1);
    }

    pub async fn pages_name_themselves_for_tabs_search_and_sharing(app: TestApp) {
        zhunong::server::seed_market::seed_pictures(&app.db, &app.upload_dir)
            .await
            .expect("painted");
        let id = listing_id(&app, WHITE_TEA).await;
        let one = |html: &str, what: &str| -> String {
            let start = html.find(what).unwrap_or_else(|| {
                panic!(
                    "{what} missing in the head: {}",
                    &html[..html.len().min(3000)]
                )
            });
            assert_eq!(html.matches(what).count(), 1, "{what} once");
            let rest = &html[start..];
            rest[..rest.find('>').unwrap()].to_owned()
        };
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let r = zh.get(&format!("/listing/{id}")).await;
        assert_eq!(r.status, 200);
        let title = one(&r.body, "<title");
        let text = &r.body[r.body.find("<title>").unwrap() + 7..r.body.find("</title>").unwrap()];
        assert!(
            text.starts_with(WHITE_TEA) && text.contains("政和县") && text.ends_with(" · 助农集市"),
            "{title} {text}"
        );
        let description = one(&r.body, "<meta name=\"description\"");
        assert!(
            description.contains("政和县") && description.contains("¥"),
            "{description}"
        );
        assert!(
            description.contains("记入受益农户的收入台账"),
            "{description}"
        );
        assert!(one(&r.body, "property=\"og:title\"").contains(WHITE_TEA));
        let url = one(&r.body, "property=\"og:url\"");
        assert!(
            url.contains(&format!("content=\"http://{}/listing/{id}\"", app.addr)),
            "{url}"
        );
        let image = one(&r.body, "property=\"og:image\"");
        assert!(
            image.contains(&format!("content=\"http://{}/uploads/", app.addr)),
            "{image}"
        );
        assert!(
            !r.body.contains("name=\"robots\""),
            "a listing is for search engines"
        );
        // The photo the tag names is there.
        let src = image
            .split("content=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches(['"', '/']);
        let path = &src[src.find("/uploads/").unwrap()..];
        assert_eq!(Client::new(&app).get(path).await.status, 200, "{path}");

        // In English: the site's English name and an English description.
        let mut en = Client::new(&app).english();
        en.accept = "text/html";
        let r = en.get(&format!("/listing/{id}")).await;
        assert!(
            r.body.contains(" · Zhunong Market</title>"),
            "English title"
        );
        assert!(one(&r.body, "<meta name=\"description\"").contains(" per "));
        let r = en.get("/market").await;
        assert!(r.body.contains("<title>Market · Zhunong Market</title>"));

        // The market and the home page have their own; an account's page asks not to be indexed.
        let r = zh.get("/market").await;
        assert!(r.body.contains("<title>集市 · 助农集市</title>"));
        assert!(one(&r.body, "<meta name=\"description\"").contains("集市"));
        let r = zh.get("/").await;
        assert!(r.body.contains("<title>助农集市</title>"));
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        buyer.accept = "text/html";
        let r = buyer.get("/orders").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<title>我的订单 · 助农集市</title>"));
        assert!(one(&r.body, "name=\"robots\"").contains("noindex"));
    }

    /// Places one line of `quantity` of listing `id`; the order's id.
    async fn order_one(buyer: &mut Client, key: &str, id: i64, quantity: i64) -> i64 {
        let r = buyer
            .post_form(
                "/api/orders/checkout",
                &[
                    ("idempotency_key", key),
                    ("items[0][listing_id]", &id.to_string()),
                    ("items[0][quantity]", &quantity.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["orders"][0]["id"].as_i64().unwrap()
    }

    async fn shop(app: &TestApp, key: &str) -> common::Response {
        Client::new(app)
            .post_form("/api/shops/shop", &[("key", key)])
            .await
    }

    fn titles(shop: &Value) -> Vec<String> {
        shop["listings"]["items"]
            .as_array()
            .expect("listings")
            .iter()
            .map(|c| c["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn shops_show_what_they_sell_and_what_it_did(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let r = Client::new(&app)
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let card = r.json()["card"].clone();
        let key = card["seller_key"].as_str().expect("seller key").to_owned();
        let org: i64 = sqlx::query_scalar("SELECT organisation_id FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(key, format!("c{org}"));
        let village = format!("v{}", card["origin_code"].as_str().expect("origin"));

        // The co-op's shop: its name, its listings, its short link.
        let r = shop(&app, &key).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let before = r.json();
        assert_eq!(before["kind"], "coop");
        assert_eq!(before["name"], card["seller_name"]);
        assert!(titles(&before).contains(&WHITE_TEA.to_owned()), "{before}");
        assert!(
            before["place"].as_str().unwrap().contains("政和县"),
            "{before}"
        );
        assert!(before["households"].as_i64().unwrap() >= 1, "{before}");
        assert_eq!(
            before["share_url"],
            format!("http://{}/s/{key}", app.addr),
            "{before}"
        );
        // Only the co-op's own listings.
        let foreign = count(
            &app.db,
            &format!("SELECT COUNT(*) FROM listings WHERE status = 'on_sale' AND (organisation_id IS NULL OR organisation_id <> {org})"),
        )
        .await;
        assert!(foreign > 0);
        let own = count(
            &app.db,
            &format!("SELECT COUNT(*) FROM listings WHERE status IN ('on_sale', 'sold_out') AND organisation_id = {org}"),
        )
        .await;
        assert_eq!(titles(&before).len() as i64, own.min(24));

        // A paid order adds its units and the households' shares to this year's figures.
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let order = order_one(&mut buyer, "shop-test-order-0001", id, 3).await;
        // Placed but unpaid: nothing yet.
        let mid = shop(&app, &key).await.json();
        assert_eq!(mid["units_sold"], before["units_sold"]);
        let mut coop = demo_login(&app, COOP).await;
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[("reference", "SHOP-REF"), ("order_id", &order.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let allocated = count(
            &app.db,
            &format!("SELECT CAST(SUM(a.amount_fen) AS BIGINT) FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id WHERE i.order_id = {order}"),
        )
        .await;
        assert!(allocated > 0);
        let after = shop(&app, &key).await.json();
        assert_eq!(
            after["units_sold"].as_i64().unwrap(),
            before["units_sold"].as_i64().unwrap() + 3
        );
        assert_eq!(
            after["added_fen"].as_i64().unwrap(),
            before["added_fen"].as_i64().unwrap() + allocated
        );
        // The village where it grows sells it too, and names the co-op among its sellers.
        let r = shop(&app, &village).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["kind"], "village");
        assert!(titles(&v).contains(&WHITE_TEA.to_owned()), "{v}");
        assert!(
            v["sellers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["key"] == key.as_str()),
            "{v}"
        );
        assert!(v["added_fen"].as_i64().unwrap() >= allocated);

        // A draft is not shown.
        sqlx::query("UPDATE listings SET status = 'draft' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert!(!titles(&shop(&app, &key).await.json()).contains(&WHITE_TEA.to_owned()));

        // A household selling its own produce: its name and story only with its consent.
        let (hid, head, story): (i64, String, Option<String>) = sqlx::query_as(
            "SELECT h.id, h.head_name, h.story FROM households h
              WHERE EXISTS (SELECT 1 FROM listings l WHERE l.household_id = h.id AND l.status = 'on_sale')
              ORDER BY h.id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .expect("the demo has a household selling its own produce");
        for consent in [0i64, 1] {
            sqlx::query("UPDATE households SET story_consent = $1, story = $2 WHERE id = $3")
                .bind(consent)
                .bind(
                    story
                        .clone()
                        .unwrap_or_else(|| "我家种茶三十年。".to_owned()),
                )
                .bind(hid)
                .execute(&app.db.pool)
                .await
                .unwrap();
            let r = shop(&app, &format!("h{hid}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let h = r.json();
            assert_eq!(h["kind"], "household");
            // Its yearly sales only with its consent: a village and a sum point at the family.
            assert_eq!(h["figures_shown"], consent == 1, "{h}");
            if consent == 0 {
                assert_eq!(
                    (h["units_sold"].as_i64(), h["added_fen"].as_i64()),
                    (Some(0), Some(0))
                );
            }
            if consent == 1 {
                assert_eq!(h["name"], head.as_str());
                assert!(h["story"].is_string(), "{h}");
            } else {
                assert!(
                    !r.body.contains(&head),
                    "the head's name without consent: {h}"
                );
                assert!(h["name"].as_str().unwrap().ends_with("农户"), "{h}");
                assert!(h["story"].is_null(), "{h}");
            }
            assert!(
                h["village"]["key"].as_str().unwrap().starts_with('v'),
                "{h}"
            );
        }

        // No shop: a household that sells nothing itself, an institution, a township, nonsense.
        let idle: i64 = sqlx::query_scalar(
            "SELECT h.id FROM households h WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.household_id = h.id) ORDER BY h.id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let institution: i64 = sqlx::query_scalar(
            "SELECT id FROM organisations WHERE kind = 'institution' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let township = &village[..10];
        for key in [
            format!("h{idle}"),
            format!("c{institution}"),
            township.to_owned(),
            "c999999".to_owned(),
            "x1".to_owned(),
            "c1 ".to_owned(),
            "c01".to_owned(),
            "c".repeat(40),
        ] {
            let r = shop(&app, &key).await;
            assert_eq!(r.status, 404, "{key}: {}", r.body);
            assert_eq!(r.json()["code"], "not_found", "{key}");
        }
        // A cursor that is not one is refused, in the visitor's language.
        let r = Client::new(&app)
            .post_form("/api/shops/shop", &[("key", &key), ("after", "zz")])
            .await;
        assert_eq!(r.status, 400, "{}", r.body);

        // The page itself is whole without a script, named for sharing, with its QR code.
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let r = zh.get(&format!("/shop/{key}")).await;
        assert_eq!(r.status, 200);
        let name = before["name"].as_str().unwrap();
        assert!(r.body.contains(&format!("<h1>{name}")), "{}", r.body);
        assert!(r.body.contains("property=\"og:title\""), "{}", r.body);
        assert!(r.body.contains(&format!("/s/{key}/qr.svg")));
        assert!(!r.body.contains("加载中"), "{}", r.body);
        let r = zh.get(&format!("/shop/{village}")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.body.contains(&format!("href=\"/shop/{key}\"")),
            "{}",
            r.body
        );
        let r = zh.get("/shop/c999999").await;
        assert_eq!(r.status, 404);
        // Listing pages and cards lead to the shops.
        sqlx::query("UPDATE listings SET status = 'on_sale' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = zh.get(&format!("/listing/{id}")).await;
        assert!(
            r.body.contains(&format!("href=\"/shop/{key}\"")),
            "{}",
            r.body
        );
        assert!(r.body.contains(&format!("href=\"/shop/{village}\"")));
        assert!(r.body.contains(&format!("/s/l{id}/qr.svg")));
    }

    pub async fn short_links_and_qr_codes_lead_to_shops_and_listings(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let org: i64 = sqlx::query_scalar("SELECT organisation_id FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let mut c = Client::new(&app);
        for (short, target) in [
            (format!("/s/c{org}"), format!("/shop/c{org}")),
            (format!("/s/l{id}"), format!("/listing/{id}")),
        ] {
            let r = c.get(&short).await;
            assert_eq!(r.status, 301, "{short}: {}", r.body);
            assert_eq!(r.header("location"), Some(target.as_str()), "{short}");
            let r = c.get(&format!("{short}/qr.svg")).await;
            assert_eq!(r.status, 200, "{short}: {}", r.body);
            assert_eq!(r.header("content-type"), Some("image/svg+xml"));
            assert!(
                r.body.starts_with("<svg") && r.body.contains("<path"),
                "{}",
                r.body
            );
        }
        // Nothing there, or not a key: 404 in the visitor's language, and no QR code for it.
        sqlx::query("UPDATE listings SET status = 'withdrawn' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        for path in [
            format!("/s/l{id}"),
            "/s/c999999".to_owned(),
            "/s/x".to_owned(),
            "/s/c0".to_owned(),
            format!("/s/{}", "9".repeat(200)),
            "/s/c999999/qr.svg".to_owned(),
            "/s/%00/qr.svg".to_owned(),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.status, 404, "{path}: {}", r.body);
            assert_eq!(r.body, "找不到请求的内容", "{path}");
        }
        let r = Client::new(&app).english().get("/s/x").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body, "Not found");
    }

    async fn review(c: &mut Client, item: i64, rating: &str, body: &str) -> common::Response {
        c.post_form(
            "/api/reviews/write",
            &[
                ("order_item_id", &item.to_string()),
                ("rating", rating),
                ("body", body),
            ],
        )
        .await
    }

    async fn reviews_of(c: &mut Client, listing: i64) -> Value {
        let r = c
            .post_form(
                "/api/reviews/listing",
                &[("listing_id", &listing.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    pub async fn reviews_come_after_delivery_once_with_a_reply_and_moderation(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let org: i64 = sqlx::query_scalar("SELECT organisation_id FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let mut coop = demo_login(&app, COOP).await;
        let mut other = demo_login(&app, "school@demo.zhunong.cn").await;
        let mut admin = demo_login(&app, "admin@demo.zhunong.cn").await;
        let mut visitor = Client::new(&app);
        let none = reviews_of(&mut visitor, id).await;
        assert_eq!(none["summary"]["count"], 0);
        assert_eq!(none["can_reply"], false);

        let order = order_one(&mut buyer, "review-test-order-01", id, 1).await;
        let item: i64 = sqlx::query_scalar("SELECT id FROM order_items WHERE order_id = $1")
            .bind(order)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let o = order.to_string();
        // Placed, paid, shipped: not yet.
        let r = review(&mut buyer, item, "5", "").await;
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, "not_delivered".into())
        );
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[("reference", "REV-REF"), ("order_id", &o)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = coop
            .post_form(
                "/api/orders/ship",
                &[
                    ("order_id", &o),
                    ("courier", "顺丰速运"),
                    ("tracking_no", "SF1234567890"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = review(&mut buyer, item, "5", "").await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = buyer
            .post_form("/api/orders/deliver", &[("order_id", &o)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Delivered: someone else may not review it, nor may the seller; bad input changes nothing.
        for c in [&mut other, &mut coop] {
            let r = review(c, item, "1", "差评").await;
            assert_eq!(r.status, 403, "{}", r.body);
        }
        let long = "好".repeat(501);
        for (rating, body, field) in [
            ("6", "", "rating"),
            ("0", "", "rating"),
            ("x", "", "rating"),
            ("", "", "rating"),
            ("4", long.as_str(), "body"),
        ] {
            let r = review(&mut buyer, item, rating, body).await;
            assert_eq!(r.status, 400, "{rating} {}: {}", body.len(), r.body);
            assert_eq!(r.json()["field"], field);
        }
        let r = review(&mut buyer, 999_999, "4", "").await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM listing_reviews").await,
            0
        );

        // The buyer's review, once.
        let r = review(&mut buyer, item, "4", "  茶香很足，包装结实。  ").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let written = r.json();
        assert_eq!(written["rating"], 4);
        assert_eq!(written["body"], "茶香很足，包装结实。");
        let reviewer = written["reviewer"].as_str().unwrap().to_owned();
        assert!(
            reviewer.ends_with("**") && reviewer.chars().count() == 3,
            "{reviewer}"
        );
        let r = review(&mut buyer, item, "5", "再评一次").await;
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, "already_reviewed".into())
        );
        let mine = buyer.post_form("/api/orders/mine", &[]).await.json();
        let line = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == order)
            .expect("the order")["items"][0]
            .clone();
        assert_eq!(line["item_id"], item);
        assert_eq!(line["rating"], 4);
        let shown = reviews_of(&mut visitor, id).await;
        assert_eq!(shown["summary"]["count"], 1);
        assert_eq!(shown["summary"]["average_tenths"], 40);
        assert_eq!(shown["page"]["items"][0]["body"], "茶香很足，包装结实。");
        let rid = shown["page"]["items"][0]["id"].as_i64().unwrap();

        // The seller replies, once; the buyer cannot.
        let r = buyer
            .post_form(
                "/api/reviews/reply",
                &[("review_id", &rid.to_string()), ("reply", "我自己回复")],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = coop
            .post_form(
                "/api/reviews/reply",
                &[("review_id", &rid.to_string()), ("reply", "   ")],
            )
            .await;
        assert_eq!((r.status, r.json()["field"].clone()), (400, "reply".into()));
        let r = coop
            .post_form(
                "/api/reviews/reply",
                &[("review_id", &rid.to_string()), ("reply", "谢谢支持！")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["reply"], "谢谢支持！");
        let r = coop
            .post_form(
                "/api/reviews/reply",
                &[("review_id", &rid.to_string()), ("reply", "再回复")],
            )
            .await;
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, "already_replied".into())
        );
        assert_eq!(reviews_of(&mut coop, id).await["can_reply"], true);

        // The shop counts it.
        let s = Client::new(&app)
            .post_form("/api/shops/shop", &[("key", &format!("c{org}"))])
            .await
            .json();
        assert_eq!(s["rating"]["count"], 1, "{s}");
        assert_eq!(s["rating"]["average_tenths"], 40);

        // Only an administrator hides it; then only administrators see it, until shown again.
        let hide = |v: &'static str| [("review_id", rid.to_string()), ("hidden", v.to_owned())];
        for c in [&mut coop, &mut buyer] {
            let f = hide("1");
            let r = c
                .post_form("/api/reviews/hide", &[(f[0].0, &f[0].1), (f[1].0, &f[1].1)])
                .await;
            assert_eq!(r.status, 403, "{}", r.body);
        }
        let f = hide("1");
        let r = admin
            .post_form("/api/reviews/hide", &[(f[0].0, &f[0].1), (f[1].0, &f[1].1)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["hidden"], true);
        let public = reviews_of(&mut visitor, id).await;
        assert_eq!(public["summary"]["count"], 0);
        assert_eq!(public["page"]["items"].as_array().unwrap().len(), 0);
        assert!(!public.to_string().contains("茶香很足"));
        let support = reviews_of(&mut admin, id).await;
        assert_eq!(support["page"]["items"][0]["hidden"], true);
        assert_eq!(support["can_hide"], true);
        // Hidden, it is not there for the seller either: no reply, and its text is not sent.
        let r = coop
            .post_form(
                "/api/reviews/reply",
                &[("review_id", &rid.to_string()), ("reply", "再次回复")],
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert!(!r.body.contains("茶香很足"));
        let f = hide("0");
        let r = admin
            .post_form("/api/reviews/hide", &[(f[0].0, &f[0].1), (f[1].0, &f[1].1)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // The listing's page shows it, rendered on the server.
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let page = zh.get(&format!("/listing/{id}")).await;
        assert!(page.body.contains("茶香很足，包装结实。"), "{}", page.body);
        assert!(page.body.contains("谢谢支持！"));
        assert!(page.body.contains("4.0"));
    }

    pub async fn english_titles_are_shown_and_searched(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let mut fields = edit_fields(&mut coop, id).await;
        set(&mut fields, "form[title_en]", "Zhenghe White Peony Tea");
        set(
            &mut fields,
            "form[description_en]",
            "Picked in early spring on the hills of Zhenghe.",
        );
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);

        // English words find it, and its English title puts it first.
        for q in ["white peony", "Peony", "PEONY TEA", "early spring"] {
            let found = titles_for(&app, q).await;
            assert_eq!(
                found.first().map(String::as_str),
                Some(WHITE_TEA),
                "{q:?}: {found:?}"
            );
        }
        let cards = Client::new(&app)
            .post_form("/api/market/catalogue", &[("query[q]", "peony")])
            .await
            .json();
        assert_eq!(cards["items"][0]["title_en"], "Zhenghe White Peony Tea");
        // Chinese still finds it.
        assert!(titles_for(&app, "白牡丹")
            .await
            .iter()
            .any(|t| t == WHITE_TEA));

        // The English page leads with the English title and description; the Chinese page with
        // the Chinese ones.
        let mut en = Client::new(&app).english();
        en.accept = "text/html";
        let page = en.get(&format!("/listing/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("<h1>Zhenghe White Peony Tea"),
            "English h1"
        );
        assert!(
            page.body.contains("<title>Zhenghe White Peony Tea · "),
            "English title"
        );
        // (In the markup: the page's data, serialised for hydration, holds both languages.)
        assert!(page
            .body
            .contains("<p class=\"description\">Picked in early spring on the hills of Zhenghe."));
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let page = zh.get(&format!("/listing/{id}")).await;
        assert!(
            page.body.contains(&format!("<h1>{WHITE_TEA}")),
            "Chinese h1"
        );
        assert!(!page.body.contains("<p class=\"description\">Picked"));
        assert!(page.body.contains("<p class=\"description\">政和"));
        // The market's cards in English, too.
        let market = en.get("/market?q=peony").await;
        assert!(
            market
                .body
                .contains("<h3 class=\"listing-title\">Zhenghe White Peony Tea"),
            "English card"
        );

        // Buying it in English: the buy page and the order's lines carry the English title, the
        // Chinese pages the Chinese one.
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await.english();
        buyer.accept = "text/html";
        let buy = buyer.get(&format!("/buy?listing={id}&quantity=1")).await;
        assert_eq!(buy.status, 200, "{}", buy.body);
        assert!(
            buy.body.contains(&format!(
                "<h2><a href=\"/listing/{id}\">Zhenghe White Peony Tea"
            )),
            "English buy page"
        );
        buyer.accept = "application/json";
        let order = order_one(&mut buyer, "english-lines-1", id, 1).await;
        buyer.accept = "text/html";
        let orders = buyer.get("/orders").await;
        assert!(
            orders.body.contains("<li>Zhenghe White Peony Tea"),
            "English order line of #{order}"
        );
        let mut zh_buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        zh_buyer.accept = "text/html";
        let orders = zh_buyer.get("/orders").await;
        assert!(
            orders.body.contains(&format!("<li>{WHITE_TEA}")),
            "Chinese order line"
        );
        assert!(!orders.body.contains("<li>Zhenghe White Peony Tea"));

        // The edit form gives them back; too long or with a control character: refused, and
        // nothing changes.
        let again = edit_fields(&mut coop, id).await;
        assert!(again.contains(&("form[title_en]".into(), "Zhenghe White Peony Tea".into())));
        let mut long = again.clone();
        set(&mut long, "form[title_en]", &"x".repeat(101));
        let r = post_fields(&mut coop, &long).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], "title_en");
        let mut bad = again.clone();
        set(&mut bad, "form[description_en]", "a\u{0}b");
        assert_eq!(post_fields(&mut coop, &bad).await.status, 400);
        let (t, d): (String, String) =
            sqlx::query_as("SELECT title_en, description_en FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(t, "Zhenghe White Peony Tea");
        assert!(d.starts_with("Picked"));
    }

    pub async fn shops_keep_their_own_words_in_both_languages(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let (org, origin): (i64, String) =
            sqlx::query_as("SELECT organisation_id, origin_code FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        let key = format!("c{org}");
        let save = |key: &str, name_en: &str, story: &str, story_en: &str| {
            vec![
                ("key".to_owned(), key.to_owned()),
                ("name_en".to_owned(), name_en.to_owned()),
                ("story".to_owned(), story.to_owned()),
                ("story_en".to_owned(), story_en.to_owned()),
            ]
        };
        let post = |c: &mut Client, fields: Vec<(String, String)>| {
            let mut c = c.clone();
            async move {
                let f: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                c.post_form("/api/shops/save-profile", &f).await
            }
        };

        // Nobody signed in, a buyer, an official: not theirs to write. Nothing is stored.
        let mut anonymous = Client::new(&app);
        let words = save(&key, "Zhenghe Tea Co-op", "茶园在山上。", "Up the hills.");
        assert_eq!(post(&mut anonymous, words.clone()).await.status, 401);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(post(&mut buyer, words.clone()).await.status, 403);
        let mut official = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let r = post(&mut official, words.clone()).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM shop_profiles").await,
            0
        );
        for c in [&mut buyer, &mut official] {
            let r = c.post_form("/api/shops/shop", &[("key", &key)]).await;
            assert_eq!(r.json()["editable"], false, "{}", r.body);
            // Nor may they read the form: refused before anything is looked up, so a stranger
            // cannot tell which households exist.
            for k in [key.as_str(), "h999999"] {
                let r = c.post_form("/api/shops/profile", &[("key", k)]).await;
                assert_eq!(r.status, 403, "{k}: {}", r.body);
            }
        }

        // The co-op's manager writes its words; the shop shows them in each language.
        let mut coop = demo_login(&app, COOP).await;
        let r = coop.post_form("/api/shops/shop", &[("key", &key)]).await;
        assert_eq!(r.json()["editable"], true, "{}", r.body);
        let r = post(
            &mut coop,
            save(
                &key,
                "Zhenghe Tea Co-op",
                "我们的茶园在海拔八百米的山上。",
                "Our tea gardens are 800 m up the hills.",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.json()["story_en"],
            "Our tea gardens are 800 m up the hills."
        );
        let mut en = Client::new(&app).english();
        en.accept = "text/html";
        let page = en.get(&format!("/shop/{key}")).await;
        assert!(page.body.contains("<h1>Zhenghe Tea Co-op"), "English name");
        assert!(page.body.contains("class=\"story\">Our tea gardens"));
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let page = zh.get(&format!("/shop/{key}")).await;
        assert!(page.body.contains("class=\"story\">我们的茶园"));
        assert!(!page.body.contains("data-testid=\"shop-edit\""));
        // Its manager finds the form from the shop and from the seller desk, and the form
        // holds what was written.
        let desk = coop.post_form("/api/market/seller-desk", &[]).await.json();
        assert_eq!(desk["shops"][0]["key"], key.as_str(), "{desk}");
        coop.accept = "text/html";
        let page = coop.get(&format!("/shop/{key}")).await;
        assert!(page.body.contains(&format!("href=\"/shop/{key}/edit\"")));
        let form = coop.get(&format!("/shop/{key}/edit")).await;
        assert_eq!(form.status, 200);
        assert!(form
            .body
            .contains(">我们的茶园在海拔八百米的山上。</textarea>"));
        coop.accept = "application/json";

        // Too long, or an English name for a household: refused in the writer's language, and
        // nothing changes.
        let r = post(&mut coop, save(&key, "", &"长".repeat(2001), "")).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "invalid_shop_profile");
        assert_eq!(r.json()["field"], "story");
        let r = post(&mut coop, save(&key, &"n".repeat(101), "", "")).await;
        assert_eq!(r.json()["field"], "name_en");
        let stored: String =
            sqlx::query_scalar("SELECT story FROM shop_profiles WHERE shop_key = $1")
                .bind(&key)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(stored, "我们的茶园在海拔八百米的山上。");
        let mut household = demo_login(&app, "household@demo.zhunong.cn").await;
        let own: i64 = sqlx::query_scalar(
            "SELECT household_id FROM users WHERE login = 'household@demo.zhunong.cn'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let r = post(&mut household, save(&format!("h{own}"), "Li", "", "")).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], "name_en");
        let r = post(
            &mut household,
            save(
                &format!("h{own}"),
                "",
                "种了三十年茶。\r\n第二行。",
                "Tea for thirty years.",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["has_name_en"], false);
        // A textarea's line break is one character, kept as a line feed.
        assert_eq!(r.json()["story"], "种了三十年茶。\n第二行。");
        // Its story replaces the registry's on its shop and on the listings that benefit it,
        // and only with its consent.
        let own_listing: i64 = sqlx::query_scalar(
            "SELECT id FROM listings WHERE household_id = $1 AND status = 'on_sale' ORDER BY id LIMIT 1",
        )
        .bind(own)
        .fetch_one(&app.db.pool)
        .await
        .expect("the demo household sells its own produce");
        let h = shop(&app, &format!("h{own}")).await.json();
        assert_eq!(h["story"], "种了三十年茶。\n第二行。", "{h}");
        assert_eq!(h["story_en"], "Tea for thirty years.");
        let stories = listing_json(&app, own_listing).await["stories"].to_string();
        assert!(stories.contains("种了三十年茶"), "{stories}");
        sqlx::query("UPDATE households SET story_consent = 0 WHERE id = $1")
            .bind(own)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let h = shop(&app, &format!("h{own}")).await.json();
        assert!(h["story"].is_null() && h["story_en"].is_null(), "{h}");
        let stories = listing_json(&app, own_listing).await["stories"].to_string();
        assert!(!stories.contains("三十年"), "{stories}");
        let r = household
            .post_form("/api/shops/profile", &[("key", &format!("h{own}"))])
            .await;
        assert_eq!(r.json()["story_shown"], false, "{}", r.body);
        // An official may not write a household's words, even in their county.
        let r = post(&mut official, save(&format!("h{own}"), "", "x", "")).await;
        assert_eq!(r.status, 403, "{}", r.body);
        // A cadre writes for the households paired with them, and for no other.
        let mut cadre = demo_login(&app, "cadre@demo.zhunong.cn").await;
        let paired: Vec<i64> = sqlx::query_scalar(
            "SELECT p.household_id FROM cadre_pairings p JOIN users u ON u.id = p.user_id
              WHERE u.login = 'cadre@demo.zhunong.cn' ORDER BY p.household_id",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        let r = post(
            &mut cadre,
            save(&format!("h{}", paired[0]), "", "帮扶户的故事。", ""),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let stranger: i64 = sqlx::query_scalar(&format!(
            "SELECT id FROM households WHERE id NOT IN ({}) ORDER BY id LIMIT 1",
            paired
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let r = post(&mut cadre, save(&format!("h{stranger}"), "", "x", "")).await;
        assert_eq!(r.status, 403, "{}", r.body);
        // Not the co-op's, nor another household's.
        assert_eq!(post(&mut household, words.clone()).await.status, 403);
        assert_eq!(
            post(&mut coop, save(&format!("h{own}"), "", "x", ""))
                .await
                .status,
            403
        );

        // The village's shop is its officials' to write, within their region only.
        let village = format!("v{origin}");
        let r = post(
            &mut official,
            save(
                &village,
                "Shuangxi Village",
                "双溪村，白茶之乡。",
                "Home of white tea.",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = shop(&app, &village).await.json();
        assert_eq!(v["name_en"], "Shuangxi Village");
        assert_eq!(v["story_en"], "Home of white tea.");
        let elsewhere: String = sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'village' AND code NOT LIKE '350725%' LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .expect("a village outside 政和县 in the demo");
        let r = post(&mut official, save(&format!("v{elsewhere}"), "", "x", "")).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["code"], "out_of_region");
        // A name is one line.
        let r = post(&mut official, save(&village, "Shuang\nxi", "", "")).await;
        assert_eq!(r.json()["field"], "name_en", "{}", r.body);
        // Another co-op's key, there or not: 403, the same answer. An administrator may write
        // any shop's words, so learns that there is no such shop: 404; a malformed key: 404.
        assert_eq!(
            post(&mut coop, save("c999999", "", "x", "")).await.status,
            403
        );
        let mut admin = demo_login(&app, "admin@demo.zhunong.cn").await;
        assert_eq!(
            post(&mut admin, save("c999999", "", "x", "")).await.status,
            404
        );
        assert_eq!(post(&mut coop, save("q1", "", "x", "")).await.status, 404);

        // Markup is text.
        let r = post(
            &mut coop,
            save(&key, "<b>Co-op</b>", "<script>alert(1)</script>", ""),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = zh.get(&format!("/shop/{key}")).await;
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.body.contains("<script>alert(1)"));
        let page = en.get(&format!("/shop/{key}")).await;
        assert!(
            page.body.contains("<h1>&lt;b&gt;Co-op&lt;/b&gt;"),
            "English name as text"
        );
        assert!(!page.body.contains("<b>Co-op"));
    }

    pub async fn co_ops_declare_the_rest_of_the_price(app: TestApp) {
        let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
        let id = listing_id(&app, WHITE_TEA).await;
        let d = listing_json(&app, id).await;
        let price = d["card"]["price_fen"].as_i64().unwrap();
        let to_households = d["to_households_per_unit_fen"].as_i64().unwrap();
        assert!(to_households > 0 && price - to_households > 1850, "{d}");
        let mut coop = demo_login(&app, COOP).await;
        let mut fields = edit_fields(&mut coop, id).await;
        set(&mut fields, "form[cost]", "10");
        set(&mut fields, "form[logistics]", "8.5");
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let d = listing_json(&app, id).await;
        assert_eq!(d["costs"]["costs"], 1000);
        assert_eq!(d["costs"]["logistics"], 850);
        assert_eq!(d["costs"]["margin"], Value::Null);
        // The page shows each declared part, then what is left undeclared.
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        let page = zh.get(&format!("/listing/{id}")).await;
        assert!(page.body.contains("data-testid=\"breakdown-cost\""));
        assert!(page.body.contains("data-testid=\"breakdown-logistics\""));
        assert!(!page.body.contains("data-testid=\"breakdown-margin\""));
        assert!(page.body.contains("其余卖家未申报用途"));
        // The form gives them back as typed.
        let mut fields = edit_fields(&mut coop, id).await;
        assert!(fields.contains(&("form[cost]".into(), "10".into())));
        assert!(fields.contains(&("form[logistics]".into(), "8.50".into())));

        // Declared costs and the households' shares may not pass the price: refused in the
        // seller's language, and nothing changes.
        let rest = price - to_households;
        set(&mut fields, "form[margin]", &yuan(rest - 1849));
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "costs_over_price");
        assert_eq!(r.json()["field"], "cost");
        assert!(r.json()["message"]
            .as_str()
            .unwrap()
            .contains("不能超过售价"));
        set(&mut fields, "form[margin]", "-1");
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["field"], "margin");
        assert_eq!(listing_json(&app, id).await["costs"]["margin"], Value::Null);
        // Exactly the rest is allowed: then nothing is left undeclared.
        set(&mut fields, "form[margin]", &yuan(rest - 1850));
        let r = post_fields(&mut coop, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = zh.get(&format!("/listing/{id}")).await;
        assert!(page.body.contains("data-testid=\"breakdown-margin\""));
        assert!(!page.body.contains("data-testid=\"breakdown-rest\""));

        // A household's own produce pays it the whole price: it has nothing to declare.
        let mut household = demo_login(&app, "household@demo.zhunong.cn").await;
        let village: String = sqlx::query_scalar(
            "SELECT h.region_code FROM households h JOIN users u ON u.household_id = h.id WHERE u.login = 'household@demo.zhunong.cn'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let before = count(&app.db, "SELECT COUNT(*) FROM listings").await;
        let r = household
            .post_form(
                "/api/market/save-listing",
                &[
                    ("form[title]", "自家土鸡蛋"),
                    ("form[category]", "livestock"),
                    ("form[unit]", "盒"),
                    ("form[price]", "30"),
                    ("form[stock]", "5"),
                    ("form[origin_code]", village.as_str()),
                    ("form[status]", "on_sale"),
                    ("form[cost]", "3"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], "cost");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM listings").await,
            before
        );
    }

    pub async fn a_new_listing_comes_with_its_photos(app: TestApp) {
        let template = listing_id(&app, WHITE_TEA).await;
        let mut coop = demo_login(&app, COOP).await;
        let mut fields: Vec<(String, String)> = edit_fields(&mut coop, template)
            .await
            .into_iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "form[id]" | "form[version]" | "form[stock_was]")
            })
            .collect();
        set(&mut fields, "form[title]", "春茶新品（带照片）");
        let titled = "SELECT COUNT(*) FROM listings WHERE title = '春茶新品（带照片）'";
        let files_before = stored_files(&app);

        // Strangers: nothing is read or made.
        let small = png(40, 30);
        let r = create_with_photos(&mut Client::new(&app), &fields, &[("a.png", &small)]).await;
        assert_eq!(r.status, 401, "{}", r.body);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = create_with_photos(&mut buyer, &fields, &[("a.png", &small)]).await;
        assert_eq!(r.status, 403, "{}", r.body);
        // A file that is no picture, or seven of them: refused, and no listing is made.
        let r = create_with_photos(&mut coop, &fields, &[("a.png", b"not a picture at all")]).await;
        assert!(
            r.status == 415 || r.status == 400,
            "{}: {}",
            r.status,
            r.body
        );
        assert_eq!(r.json()["field"], "photo");
        let seven: Vec<(&str, &[u8])> = (0..7).map(|_| ("a.png", small.as_slice())).collect();
        let r = create_with_photos(&mut coop, &fields, &seven).await;
        assert_eq!(r.status, 409, "{}", r.body);
        // A form that the listing rules refuse: no listing, no files.
        let mut zero = fields.clone();
        set(&mut zero, "form[price]", "0");
        let r = create_with_photos(&mut coop, &zero, &[("a.png", &small)]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], "price");
        // Only new listings come this way.
        let mut with_id = fields.clone();
        set(&mut with_id, "form[id]", &template.to_string());
        assert_eq!(
            create_with_photos(&mut coop, &with_id, &[]).await.status,
            400
        );
        assert_eq!(count(&app.db, titled).await, 0);
        assert_eq!(stored_files(&app), files_before);

        // The seller's form with two photos: one listing with both.
        let r = create_with_photos(
            &mut coop,
            &fields,
            &[("a.png", &png(1200, 900)), ("b.png", &small)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json()["id"].as_i64().expect("the new listing's id");
        assert_eq!(r.json()["photo_error"], Value::Null);
        assert_eq!(photo_count(&app, id).await, 2);
        let d = listing_json(&app, id).await;
        assert_eq!(d["card"]["title"], "春茶新品（带照片）");
        assert_eq!(d["photos"].as_array().unwrap().len(), 2);
        // The benefit terms came along: the households still get their share.
        assert!(d["to_households_per_unit_fen"].as_i64().unwrap() > 0);

        // A browser's form (no script) is sent on to the new listing, or back with the error.
        coop.accept = "text/html";
        set(&mut fields, "form[title]", "春茶新品（表单）");
        let r = create_with_photos(&mut coop, &fields, &[("a.png", &small)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = r.header("location").unwrap().to_owned();
        assert!(to.starts_with("/listing/"), "{to}");
        let made: i64 = to["/listing/".len()..].parse().unwrap();
        assert_eq!(photo_count(&app, made).await, 1);
        set(&mut fields, "form[title]", "");
        let r = create_with_photos(&mut coop, &fields, &[]).await;
        assert_eq!(r.status, 303);
        assert_eq!(
            r.header("location"),
            Some("/seller/listings?listing_error=invalid_listing&field=title#new-listing")
        );
        // The seller desk shows that error in the form (the page carries the error's status,
        // as every page that shows one does).
        let desk = coop
            .get("/seller/listings?listing_error=invalid_listing&field=title")
            .await;
        assert_eq!(desk.status, 400);
        assert!(desk.body.contains("data-testid=\"listing-form\""));
        assert!(
            desk.body.contains("货品信息不完整或不正确"),
            "the error in the form"
        );
    }
}

/// Anonymous visitors' public pages are kept for a moment (`ZHUNONG_PAGE_CACHE_MS`): each answer
/// still has its own CSP nonce, languages are kept apart, a signed-in user always sees a fresh
/// render, and a change reaches anonymous visitors once the page's time is up.
mod page_cache {
    use super::*;
    use common::{spawn_app_with, Backend};

    const TTL_MS: u64 = 1500;

    fn nonce_of(r: &common::Response) -> String {
        let csp = r.header("content-security-policy").expect("CSP");
        csp.split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("nonce")
            .to_owned()
    }

    async fn hits(app: &TestApp) -> u64 {
        let r = Client::new(app).get("/metrics").await;
        assert_eq!(r.status, 200);
        r.body
            .lines()
            .find_map(|l| l.strip_prefix("zhunong_page_cache_total{result=\"hit\"} "))
            .expect("the cache's counter")
            .parse()
            .unwrap()
    }

    async fn case(app: TestApp) {
        let id = listing_id(&app, WHITE_TEA).await;
        let path = format!("/listing/{id}");
        // A signed-in render is never kept: the first anonymous visitor's page is a miss.
        let mut seller = demo_login(&app, COOP).await;
        seller.accept = "text/html";
        assert_eq!(seller.get(&path).await.status, 200);
        let mut zh = Client::new(&app);
        zh.accept = "text/html";
        // The first visitor asks for gzip: what is kept is the page itself, compressed for each
        // client that asks, so the next, plain client gets plain HTML.
        let mut gz = Client::new(&app);
        gz.accept = "text/html";
        gz.extra_headers
            .push(("Accept-Encoding".into(), "gzip".into()));
        let zipped = gz.get(&path).await;
        assert_eq!(zipped.header("content-encoding"), Some("gzip"));
        assert_eq!(hits(&app).await, 0, "the seller's render was not kept");
        let first = zh.get(&path).await;
        let second = zh.get(&path).await;
        assert_eq!((first.status, second.status), (200, 200));
        assert!(first.header("content-encoding").is_none());
        assert!(first.body.starts_with("<!DOCTYPE html>"), "plain HTML");
        assert_eq!(hits(&app).await, 2, "both answers came from the cache");
        let (n1, n2) = (nonce_of(&first), nonce_of(&second));
        assert_ne!(n1, n2, "every answer has its own nonce");
        assert!(second.body.contains(&format!("nonce=\"{n2}\"")));
        assert!(
            !second.body.contains(&n1),
            "no trace of the kept render's nonce"
        );
        assert_eq!(first.body.replace(&n1, "N"), second.body.replace(&n2, "N"));

        // English is its own page.
        let mut en = Client::new(&app).english();
        en.accept = "text/html";
        assert!(en.get(&path).await.body.contains("Zhunong Market</title>"));

        // A change: anonymous visitors may see the kept page until its time is up; the seller,
        // signed in, sees it at once.
        sqlx::query("UPDATE listings SET title = '改名的白茶' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert!(seller.get(&path).await.body.contains("改名的白茶"));
        tokio::time::sleep(std::time::Duration::from_millis(TTL_MS + 100)).await;
        assert!(zh.get(&path).await.body.contains("改名的白茶"));

        // Pages that are not public are never kept, nor answers other than 200.
        let before = hits(&app).await;
        for p in ["/login", "/listing/999999", "/listing/999999", "/login"] {
            zh.get(p).await;
        }
        assert_eq!(hits(&app).await, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        let app = spawn_app_with(Backend::Sqlite, true, |s| s.page_cache_ms = TTL_MS)
            .await
            .unwrap();
        case(app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if let Some(app) =
            spawn_app_with(Backend::Postgres, true, |s| s.page_cache_ms = TTL_MS).await
        {
            case(app).await;
        }
    }
}
