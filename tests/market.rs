//! Integration tests of the market's catalogue and listings: full-text search, the "households
//! under monitoring" filter, photo uploads, and editing a listing. Every case runs on SQLite, and
//! on PostgreSQL when `TEST_DATABASE_URL` is set.

#![cfg(feature = "ssr")]

#[macro_use]
mod common;

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
