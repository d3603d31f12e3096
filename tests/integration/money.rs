//! Integration tests of the money path: checkout, payment, refunds, the ledger, and the books.
//! Every case runs on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

use crate::common;

use common::{count, demo_login, Client, TestApp};

on_both_backends! {
    sale_is_posted_to_each_household_ledger;
    bad_quantities_change_nothing;
    unavailable_listings_and_exhausted_stock;
    tampered_prices_and_allocations_are_refused;
    strangers_cannot_touch_orders_listings_or_incomes;
    cancel_and_refund_restore_stock_and_reverse_the_ledger;
    idempotency_key_makes_one_order;
    checkouts_cannot_be_gamed;
    listing_edits_never_overwrite_sales;
    one_buyer_racing_checkouts_holds_no_more_than_the_limit;
    fifty_buyers_race_for_ten_units;
    ledger_is_append_only_and_checked;
    postgres_runtime_role_cannot_rewrite_the_ledger;
    catalogue_filters_and_sorts;
    sellers_list_produce_for_linked_households;
    institution_purchases_count_toward_the_pledge;
    notices_follow_each_order_and_the_outbox_retries;
    buyers_share_an_impact_receipt_without_their_name;
}

mod cases {
    use super::*;
    use zhunong::ledger::server::check_ledger;

    async fn listing_by_title(app: &TestApp, title: &str) -> (i64, i64, i64) {
        sqlx::query_as("SELECT id, price_fen, stock FROM listings WHERE title = $1")
            .bind(title)
            .fetch_one(&app.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{title}: {e}"))
    }

    async fn stock(app: &TestApp, id: i64) -> i64 {
        sqlx::query_scalar("SELECT stock FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
    }

    async fn checkout(c: &mut Client, key: &str, lines: &[(i64, &str)]) -> common::Response {
        let mut fields: Vec<(String, String)> = vec![("idempotency_key".into(), key.into())];
        for (i, (id, q)) in lines.iter().enumerate() {
            fields.push((format!("items[{i}][listing_id]"), id.to_string()));
            fields.push((format!("items[{i}][quantity]"), q.to_string()));
        }
        let refs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        c.post_form("/api/orders/checkout", &refs).await
    }

    async fn totals(app: &TestApp) -> (i64, i64, i64, i64) {
        (
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            count(&app.db, "SELECT COUNT(*) FROM checkouts").await,
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            count(&app.db, "SELECT CAST(SUM(stock) AS BIGINT) FROM listings").await,
        )
    }

    pub async fn sale_is_posted_to_each_household_ledger(app: TestApp) {
        let (id, price, stock0) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = checkout(&mut buyer, "test-checkout-0001", &[(id, "2")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let j = r.json();
        let order = &j["orders"][0];
        assert_eq!(order["status"], "placed");
        assert_eq!(order["total_fen"], price * 2);
        let order_id = order["id"].as_i64().unwrap();
        assert_eq!(stock(&app, id).await, stock0 - 2);
        let rows_before = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;

        // The co-op confirms the transfer: one ledger row per household per item, equal to the allocation.
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[
                    ("reference", "TEST-REF"),
                    ("order_id", &order_id.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["status"], "paid");
        let posted: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT e.household_id, e.amount_fen FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id
              WHERE i.order_id = $1 AND e.source_type = 'sale' ORDER BY e.household_id",
        )
        .bind(order_id)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        let allocated: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT a.household_id, a.amount_fen FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
              WHERE i.order_id = $1 ORDER BY a.household_id",
        )
        .bind(order_id)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert!(!posted.is_empty());
        assert_eq!(posted, allocated);
        assert!(posted.iter().map(|p| p.1).sum::<i64>() <= price * 2);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows_before + posted.len() as i64
        );
        // Confirming twice changes nothing.
        let again = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[
                    ("reference", "TEST-REF"),
                    ("order_id", &order_id.to_string()),
                ],
            )
            .await;
        assert_eq!(again.status, 409);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows_before + posted.len() as i64
        );

        // The household's income record, as the county official sees it, holds the sale.
        let (hid, amount) = posted[0];
        let mut official = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let r = official
            .post_form(
                "/api/ledger/household",
                &[("household_id", &hid.to_string())],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let rec = r.json();
        let sale_total: i64 = rec["by_source"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s[0] == "sale")
            .map(|s| s[1].as_i64().unwrap())
            .sum();
        assert!(sale_total >= amount, "{rec}");
        let months: i64 = rec["by_month"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_i64().unwrap())
            .sum();
        assert_eq!(
            months,
            rec["total_fen"].as_i64().unwrap(),
            "months add up to the year"
        );

        // The buyer's impact receipt.
        let r = buyer
            .post_form("/api/orders/impact", &[("order_id", &order_id.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let receipt = r.json();
        assert_eq!(
            receipt["to_households_fen"].as_i64().unwrap(),
            posted.iter().map(|p| p.1).sum::<i64>()
        );
        assert_eq!(receipt["households"].as_i64().unwrap(), posted.len() as i64);
        assert!(!receipt["villages"].as_array().unwrap().is_empty());

        // Ship (a courier order needs the courier and a tracking number) and deliver.
        for (courier, tracking, field) in [
            ("", "", "courier"),
            ("顺丰速运", "", "tracking_no"),
            ("顺丰速运", "SF 12", "tracking_no"),
            ("某某快递", "SF1234567890", "courier"),
        ] {
            let r = coop
                .post_form(
                    "/api/orders/ship",
                    &[
                        ("order_id", &order_id.to_string()),
                        ("courier", courier),
                        ("tracking_no", tracking),
                    ],
                )
                .await;
            assert_eq!(r.status, 400, "{courier} {tracking}: {}", r.body);
            assert_eq!(r.json()["code"], "invalid_tracking");
            assert_eq!(r.json()["field"], field);
        }
        let r = coop
            .post_form(
                "/api/orders/ship",
                &[
                    ("order_id", &order_id.to_string()),
                    ("courier", "顺丰速运"),
                    ("tracking_no", "sf1234567890"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["tracking_no"], "SF1234567890");
        assert_eq!(r.json()["courier"], "顺丰速运");
        assert!(
            r.json()["recipient"].as_str().is_some(),
            "the seller sees where it goes"
        );
        assert_eq!(
            buyer
                .post_form(
                    "/api/orders/deliver",
                    &[("order_id", &order_id.to_string())]
                )
                .await
                .status,
            200
        );
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn bad_quantities_change_nothing(app: TestApp) {
        let (id, _, _) = listing_by_title(&app, "霞浦头水紫菜（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let before = totals(&app).await;
        for q in ["0", "-1", "10000"] {
            let r = checkout(&mut buyer, "test-checkout-bad-q", &[(id, q)]).await;
            assert_eq!(r.status, 400, "{q}: {}", r.body);
            assert_eq!(r.json()["code"], "invalid_quantity", "{q}");
            assert!(r.json()["message"].as_str().unwrap().contains("数量"));
        }
        for q in ["1.5", "abc", "99999999999999999999", ""] {
            let r = checkout(&mut buyer, "test-checkout-bad-q", &[(id, q)]).await;
            assert_eq!(r.status, 400, "{q}: {}", r.body);
        }
        // Two lines for the same listing that together exceed the limit.
        let r = checkout(
            &mut buyer,
            "test-checkout-bad-q",
            &[(id, "9000"), (id, "1000")],
        )
        .await;
        assert_eq!(r.status, 400);
        let r = checkout(&mut buyer, "test-checkout-bad-q", &[]).await;
        assert_eq!(r.status, 400);
        let r = checkout(&mut buyer, "short", &[(id, "1")]).await;
        assert_eq!(r.status, 400, "idempotency key too short");
        assert_eq!(totals(&app).await, before);
    }

    pub async fn unavailable_listings_and_exhausted_stock(app: TestApp) {
        let (id, _, stock0) = listing_by_title(&app, "霞浦淡干海带（演示）").await;
        let (other, _, other_stock) = listing_by_title(&app, "霞浦头水紫菜（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await.english();
        let before = totals(&app).await;
        let r = checkout(&mut buyer, "test-checkout-none-1", &[(999_999, "1")]).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["code"], "listing_unavailable");
        assert!(r.json()["message"]
            .as_str()
            .unwrap()
            .contains("no longer on sale"));
        // More than there is: refused, and the other line of the same cart is not kept either.
        let r = checkout(
            &mut buyer,
            "test-checkout-none-2",
            &[(other, "1"), (id, &(stock0 + 1).to_string())],
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "out_of_stock");
        // The buyer is told how many there are, to order that many.
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains(&format!("only {stock0} left")),
            "{}",
            r.body
        );
        assert_eq!(r.json()["left"], stock0, "{}", r.body);
        assert_eq!(
            stock(&app, other).await,
            other_stock,
            "the whole checkout rolled back"
        );
        // Withdrawn: gone for buyers.
        sqlx::query("UPDATE listings SET status = 'withdrawn' WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let r = checkout(&mut buyer, "test-checkout-none-3", &[(id, "1")]).await;
        assert_eq!(r.status, 404);
        let mut anon = Client::new(&app);
        assert_eq!(
            anon.post_form("/api/market/listing", &[("id", &id.to_string())])
                .await
                .status,
            404
        );
        assert_eq!(totals(&app).await, before);
        // Anonymous and expired sessions cannot check out.
        assert_eq!(
            checkout(&mut anon, "test-checkout-none-4", &[(other, "1")])
                .await
                .status,
            401
        );
        sqlx::query("UPDATE sessions SET expires_at = 1")
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(
            checkout(&mut buyer, "test-checkout-none-5", &[(other, "1")])
                .await
                .status,
            401
        );
        assert_eq!(totals(&app).await, before);
    }

    pub async fn tampered_prices_and_allocations_are_refused(app: TestApp) {
        let (id, _, _) = listing_by_title(&app, "上杭红心蜜柚（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let before = totals(&app).await;
        for extra in ["unit_price_fen", "price", "allocation", "line_total_fen"] {
            let r = buyer
                .post_form(
                    "/api/orders/checkout",
                    &[
                        ("idempotency_key", "test-checkout-tamper"),
                        ("items[0][listing_id]", &id.to_string()),
                        ("items[0][quantity]", "1"),
                        (&format!("items[0][{extra}]"), "1"),
                    ],
                )
                .await;
            assert_eq!(r.status, 400, "{extra}: {}", r.body);
            assert_eq!(r.json()["code"], "bad_request");
        }
        assert_eq!(totals(&app).await, before);
    }

    pub async fn strangers_cannot_touch_orders_listings_or_incomes(app: TestApp) {
        let (tea, _, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let (seaweed, _, _) = listing_by_title(&app, "霞浦头水紫菜（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = checkout(&mut buyer, "test-checkout-stranger", &[(tea, "1")]).await;
        let order_id = r.json()["orders"][0]["id"].as_i64().unwrap().to_string();
        let rows = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;
        // A buyer confirming payment; another co-op confirming; a different buyer cancelling.
        let r = buyer
            .post_form(
                "/api/orders/confirm-payment",
                &[("reference", "TEST-REF"), ("order_id", &order_id)],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(r.json()["message"].as_str().unwrap().contains("权限"));
        let mut xiapu_official = demo_login(&app, "gov.xiapu@demo.zhunong.cn").await;
        assert_eq!(
            xiapu_official
                .post_form(
                    "/api/orders/confirm-payment",
                    &[("reference", "TEST-REF"), ("order_id", &order_id)]
                )
                .await
                .status,
            403
        );
        let mut school = demo_login(&app, "school@demo.zhunong.cn").await;
        assert_eq!(
            school
                .post_form("/api/orders/cancel", &[("order_id", &order_id)])
                .await
                .status,
            403
        );
        assert_eq!(
            school
                .post_form("/api/orders/impact", &[("order_id", &order_id)])
                .await
                .status,
            403
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows
        );
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(order_id.parse::<i64>().unwrap())
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(status, "placed");
        // A seller editing another seller's listing.
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form(
                "/api/market/save-listing",
                &[
                    ("form[id]", &seaweed.to_string()),
                    ("form[title]", "改掉"),
                    ("form[category]", "aquatic"),
                    ("form[unit]", "1袋"),
                    ("form[price]", "1"),
                    ("form[stock]", "1"),
                    ("form[origin_code]", "350921"),
                    ("form[status]", "on_sale"),
                    ("form[terms_kind]", "shares"),
                    ("form[terms]", "1:10"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let title: String = sqlx::query_scalar("SELECT title FROM listings WHERE id = $1")
            .bind(seaweed)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(title, "霞浦头水紫菜（演示）");
        // An official of another county reading a household's income.
        let zhenghe_household: i64 = sqlx::query_scalar(
            "SELECT id FROM households WHERE region_code LIKE '350725%' ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let r = xiapu_official
            .post_form(
                "/api/ledger/household",
                &[("household_id", &zhenghe_household.to_string())],
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["code"], "out_of_region");
        let r = xiapu_official
            .post_form(
                "/api/ledger/record",
                &[
                    ("household_id", &zhenghe_household.to_string()),
                    ("amount", "100"),
                    ("source_type", "wages"),
                    ("note", "工资"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            buyer
                .post_form(
                    "/api/ledger/household",
                    &[("household_id", &zhenghe_household.to_string())]
                )
                .await
                .status,
            403
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows
        );
        // The right official records other income; bad amounts are refused.
        let mut zhenghe = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        for bad in ["abc", "0", "1.234", ""] {
            let r = zhenghe
                .post_form(
                    "/api/ledger/record",
                    &[
                        ("household_id", &zhenghe_household.to_string()),
                        ("amount", bad),
                        ("source_type", "wages"),
                        ("note", "工资"),
                    ],
                )
                .await;
            assert_eq!(r.status, 400, "{bad}");
        }
        let r = zhenghe
            .post_form(
                "/api/ledger/record",
                &[
                    ("household_id", &zhenghe_household.to_string()),
                    ("amount", "100"),
                    ("source_type", "sale"),
                    ("note", "工资"),
                ],
            )
            .await;
        assert_eq!(r.status, 400, "sales come from orders only");
        let r = zhenghe
            .post_form(
                "/api/ledger/record",
                &[
                    ("household_id", &zhenghe_household.to_string()),
                    ("amount", "1200.50"),
                    ("source_type", "wages"),
                    ("note", "十月工资"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["amount_fen"], 120_050);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows + 1
        );
        // More than the monitoring line (6,000 元) in one record, either way: a note saying what
        // it is and an explicit confirmation, or nothing is recorded.
        let hh = zhenghe_household.to_string();
        for (amount, note, confirm, field, code) in [
            ("6000.01", "", "", "note", "note_required"),
            ("-6000.01", "", "true", "note", "note_required"),
            ("12", "  ", "", "note", "note_required"),
            (
                "6000.01",
                "补发全年工资",
                "",
                "confirm",
                "confirmation_required",
            ),
            (
                "99999999",
                "补发全年工资",
                "false",
                "confirm",
                "confirmation_required",
            ),
        ] {
            let r = zhenghe
                .post_form(
                    "/api/ledger/record",
                    &[
                        ("household_id", &hh),
                        ("amount", amount),
                        ("source_type", "wages"),
                        ("note", note),
                        ("confirm", confirm),
                    ],
                )
                .await;
            let want = if code == "note_required" { 400 } else { 422 };
            assert_eq!(r.status, want, "{amount} {note:?} {confirm:?}: {}", r.body);
            assert_eq!(r.json()["code"], code);
            assert_eq!(r.json()["field"], field);
        }
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows + 1
        );
        let r = zhenghe
            .post_form(
                "/api/ledger/record",
                &[
                    ("household_id", &hh),
                    ("amount", "6000.01"),
                    ("source_type", "wages"),
                    ("note", "补发全年工资"),
                    ("confirm", "true"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // The record names who made each manual row; sales name nobody.
        let rec = zhenghe
            .post_form("/api/ledger/household", &[("household_id", &hh)])
            .await
            .json();
        let rows = rec["recent"]["items"].as_array().unwrap();
        let official: String = sqlx::query_scalar(
            "SELECT display_name FROM users WHERE login = 'gov.zhenghe@demo.zhunong.cn'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(rows[0]["amount_fen"], 600_001);
        assert_eq!(rows[0]["recorded_by"], official.as_str());
        assert!(rows
            .iter()
            .filter(|r| r["source_type"] == "sale")
            .all(|r| r["recorded_by"].is_null()));
    }

    pub async fn cancel_and_refund_restore_stock_and_reverse_the_ledger(app: TestApp) {
        let (id, _, stock0) = listing_by_title(&app, "政和工夫红茶（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        // Cancel before payment.
        let r = checkout(&mut buyer, "test-checkout-cancel", &[(id, "3")]).await;
        let o1 = r.json()["orders"][0]["id"].as_i64().unwrap().to_string();
        assert_eq!(stock(&app, id).await, stock0 - 3);
        let r = buyer
            .post_form("/api/orders/cancel", &[("order_id", &o1)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["status"], "cancelled");
        assert_eq!(stock(&app, id).await, stock0);
        assert_eq!(
            coop.post_form(
                "/api/orders/confirm-payment",
                &[("reference", "TEST-REF"), ("order_id", &o1)]
            )
            .await
            .status,
            409,
            "a cancelled order cannot be paid"
        );
        // Refund after payment: stock back, reversing rows.
        let r = checkout(&mut buyer, "test-checkout-refund", &[(id, "2")]).await;
        let o2 = r.json()["orders"][0]["id"].as_i64().unwrap();
        assert_eq!(
            coop.post_form(
                "/api/orders/confirm-payment",
                &[("reference", "TEST-REF"), ("order_id", &o2.to_string())]
            )
            .await
            .status,
            200
        );
        assert_eq!(
            buyer
                .post_form("/api/orders/cancel", &[("order_id", &o2.to_string())])
                .await
                .status,
            409,
            "no cancel after payment"
        );
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &o2.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(stock(&app, id).await, stock0);
        let net: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(e.amount_fen) AS BIGINT) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id WHERE i.order_id = $1",
        )
        .bind(o2)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(net, 0, "the refund reverses the sale exactly");
        let reversals = count(&app.db, &format!("SELECT COUNT(*) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id WHERE i.order_id = {o2} AND e.source_type = 'sale_reversal'")).await;
        assert!(reversals > 0);
        // No refund after shipping.
        let r = checkout(&mut buyer, "test-checkout-shipped", &[(id, "1")]).await;
        let o3 = r.json()["orders"][0]["id"].as_i64().unwrap().to_string();
        assert_eq!(
            coop.post_form(
                "/api/orders/confirm-payment",
                &[("reference", "TEST-REF"), ("order_id", &o3)]
            )
            .await
            .status,
            200
        );
        assert_eq!(
            coop.post_form(
                "/api/orders/ship",
                &[
                    ("order_id", &o3),
                    ("courier", "中通快递"),
                    ("tracking_no", "ZT7788990011")
                ]
            )
            .await
            .status,
            200
        );
        assert_eq!(
            coop.post_form("/api/orders/refund", &[("order_id", &o3)])
                .await
                .status,
            409
        );
        assert_eq!(
            buyer
                .post_form("/api/orders/refund", &[("order_id", &o3)])
                .await
                .status,
            403
        );
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn idempotency_key_makes_one_order(app: TestApp) {
        let (id, _, stock0) = listing_by_title(&app, "尤溪金柑（演示）").await;
        let buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let before = count(&app.db, "SELECT COUNT(*) FROM orders").await;
        let mut a = buyer.clone();
        let first = checkout(&mut a, "test-checkout-same-key", &[(id, "2")]).await;
        assert_eq!(first.status, 200);
        let mut b = buyer.clone();
        let second = checkout(&mut b, "test-checkout-same-key", &[(id, "2")]).await;
        assert_eq!(second.status, 200);
        assert_eq!(second.json()["replayed"], true);
        assert_eq!(first.json()["checkout_id"], second.json()["checkout_id"]);
        assert_eq!(
            first.json()["orders"][0]["id"],
            second.json()["orders"][0]["id"]
        );
        // The same key sent concurrently, five times.
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let mut c = buyer.clone();
            tasks.push(tokio::spawn(async move {
                checkout(&mut c, "test-checkout-race-key", &[(id, "1")])
                    .await
                    .status
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM orders").await,
            before + 2
        );
        assert_eq!(stock(&app, id).await, stock0 - 3);
    }

    pub async fn checkouts_cannot_be_gamed(app: TestApp) {
        let app = common::spawn_app_with(app.backend, true, |s| s.max_unpaid_checkouts = 3)
            .await
            .unwrap();
        let (id, price, stock0) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let orders = || count(&app.db, "SELECT COUNT(*) FROM orders");
        let orders0 = orders().await;

        // The key is bound to its cart: the same cart replays, another cart is refused.
        let first = checkout(&mut buyer, "guard-key-0001", &[(id, "1")]).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let r = checkout(&mut buyer, "guard-key-0001", &[(id, "2")]).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.json()["code"], "idempotency_key_reused");
        let r = checkout(&mut buyer, "guard-key-0001", &[(id, "1")]).await;
        assert_eq!(r.json()["replayed"], true);
        assert_eq!(
            (orders().await, stock(&app, id).await),
            (orders0 + 1, stock0 - 1)
        );

        // The price the buyer saw: another price now is 409 with the new one, and nothing is
        // ordered; the price as it is goes through.
        let id_s = id.to_string();
        let with_price = |key: &'static str, p: i64| {
            let mut c = buyer.clone();
            let id_s = id_s.clone();
            async move {
                c.post_form(
                    "/api/orders/checkout",
                    &[
                        ("idempotency_key", key),
                        ("items[0][listing_id]", &id_s),
                        ("items[0][quantity]", "1"),
                        ("items[0][price_fen]", &p.to_string()),
                    ],
                )
                .await
            }
        };
        let r = with_price("guard-key-0002", price - 100).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let e = r.json();
        assert_eq!(e["code"], "price_changed");
        assert_eq!(e["price_change"]["listing_id"], id);
        assert_eq!(e["price_change"]["price_fen"], price);
        assert_eq!(
            (orders().await, stock(&app, id).await),
            (orders0 + 1, stock0 - 1)
        );
        let r = with_price("guard-key-0002", price).await;
        assert_eq!(
            r.status, 200,
            "the same key again, with the price as it is: {}",
            r.body
        );

        // At most three unpaid checkouts at once.
        assert_eq!(
            checkout(&mut buyer, "guard-key-0003", &[(id, "1")])
                .await
                .status,
            200
        );
        let r = checkout(&mut buyer, "guard-key-0004", &[(id, "1")]).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "too_many_unpaid");
        // At the limit, a checkout already placed still answers as placed (a retry).
        let r = checkout(&mut buyer, "guard-key-0003", &[(id, "1")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["replayed"], true);
        assert_eq!(
            (orders().await, stock(&app, id).await),
            (orders0 + 3, stock0 - 3)
        );

        // The seller may cancel an unpaid order (another seller may not); the stock returns and
        // the order says who cancelled it. Then the buyer may check out again.
        let order = first.json()["orders"][0]["id"]
            .as_i64()
            .unwrap()
            .to_string();
        let mut other = demo_login(&app, "household@demo.zhunong.cn").await;
        let r = other
            .post_form("/api/orders/cancel", &[("order_id", &order)])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form("/api/orders/cancel", &[("order_id", &order)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["status"], "cancelled");
        assert_eq!(r.json()["cancel_reason"], "seller");
        assert_eq!(stock(&app, id).await, stock0 - 2);
        assert_eq!(
            checkout(&mut buyer, "guard-key-0004", &[(id, "1")])
                .await
                .status,
            200
        );

        // Past the hold, housekeeping cancels every unpaid order and the stock comes back.
        let placed =
            "SELECT COUNT(*) FROM orders WHERE status = 'placed' AND expires_at IS NOT NULL";
        let due = count(&app.db, placed).await;
        assert!(due >= 3);
        let later = zhunong::server::db::now() + 31 * 60;
        let n = zhunong::orders::server::expire_unpaid(&app.db, later)
            .await
            .unwrap();
        assert_eq!(n as i64, due);
        assert_eq!(count(&app.db, placed).await, 0);
        assert_eq!(stock(&app, id).await, stock0);
        let mine = buyer.post_form("/api/orders/mine", &[]).await.json();
        let expired = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["status"] == "cancelled" && o["cancel_reason"] == "expired")
            .count();
        assert!(expired >= 3, "{mine}");
        // A second run finds nothing; the books still balance.
        assert_eq!(
            zhunong::orders::server::expire_unpaid(&app.db, later)
                .await
                .unwrap(),
            0
        );
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn listing_edits_never_overwrite_sales(app: TestApp) {
        let (id, _, stock0) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let id_s = id.to_string();
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let load = |c: &Client| {
            let mut c = c.clone();
            let id_s = id_s.clone();
            async move {
                let r = c
                    .post_form("/api/market/editable-listing", &[("id", &id_s)])
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                common::form_fields(&r.json()["form"])
            }
        };
        let version = || async {
            sqlx::query_scalar::<_, i64>("SELECT version FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap()
        };
        let certified = || {
            let mut c = Client::new(&app);
            let id_s = id_s.clone();
            async move {
                c.post_form("/api/market/listing", &[("id", &id_s)])
                    .await
                    .json()["card"]["certified"]
                    .as_bool()
                    .unwrap()
            }
        };
        assert!(certified().await, "the demo tea is certified");
        let v0 = version().await;
        let mut form = load(&coop).await;

        // Two units sell while the seller has the form open; the seller adds ten.
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            checkout(&mut buyer, "edit-race-0001", &[(id, "2")])
                .await
                .status,
            200
        );
        common::set(&mut form, "form[stock]", &(stock0 + 10).to_string());
        common::set(&mut form, "form[description]", "新茶上市");
        let r = common::post_fields(&mut coop, &form).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            stock(&app, id).await,
            stock0 - 2 + 10,
            "the sold units stay sold"
        );
        assert_eq!(version().await, v0 + 1);
        assert!(
            certified().await,
            "the description is not what was certified"
        );

        // The same, now stale, form again: 409 and nothing changes.
        common::set(&mut form, "form[description]", "旧表单");
        let r = common::post_fields(&mut coop, &form).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["code"], "stale_listing");
        assert_eq!(stock(&app, id).await, stock0 + 8);
        assert_eq!(version().await, v0 + 1);

        // Taking away more than is left after a sale: 409, stock unchanged.
        let mut form = load(&coop).await;
        assert_eq!(
            checkout(&mut buyer, "edit-race-0002", &[(id, "3")])
                .await
                .status,
            200
        );
        common::set(&mut form, "form[stock]", "0");
        let r = common::post_fields(&mut coop, &form).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(stock(&app, id).await, stock0 + 5);

        // The origin stays in the seller's county.
        let mut form = load(&coop).await;
        common::set(&mut form, "form[origin_code]", "350921");
        let r = common::post_fields(&mut coop, &form).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "origin_outside_county");
        assert_eq!(r.json()["field"], "origin_code");

        // A new title is another product: the certificate no longer counts.
        common::set(&mut form, "form[origin_code]", "350725");
        common::set(&mut form, "form[title]", "政和白茶·新品");
        let r = common::post_fields(&mut coop, &form).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!certified().await, "a material edit voids the certificate");
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn one_buyer_racing_checkouts_holds_no_more_than_the_limit(app: TestApp) {
        let app = common::spawn_app_with(app.backend, true, |s| s.max_unpaid_checkouts = 3)
            .await
            .unwrap();
        let (id, _, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let buyer_id: i64 =
            sqlx::query_scalar("SELECT id FROM users WHERE login = 'buyer@demo.zhunong.cn'")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        // Eight checkouts of one buyer at once, each with its own key.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let mut c = buyer.clone();
            tasks.push(tokio::spawn(async move {
                checkout(&mut c, &format!("limit-race-{i:04}"), &[(id, "1")]).await
            }));
        }
        let mut placed = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                200 => placed += 1,
                409 => assert_eq!(r.json()["code"], "too_many_unpaid", "{}", r.body),
                s => panic!("unexpected {s}: {}", r.body),
            }
        }
        let unpaid: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT checkout_id) FROM orders
              WHERE buyer_id = $1 AND status = 'placed' AND expires_at > $2",
        )
        .bind(buyer_id)
        .bind(zhunong::server::db::now())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(placed <= 3, "{placed} checkouts placed past a limit of 3");
        assert_eq!(
            unpaid, 3,
            "the buyer holds exactly the limit of unpaid checkouts"
        );
    }

    pub async fn fifty_buyers_race_for_ten_units(app: TestApp) {
        let (id, _, _) = listing_by_title(&app, "涵江龙眼干（演示）").await;
        sqlx::query("UPDATE listings SET stock = 10 WHERE id = $1")
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let mut buyers = Vec::new();
        for i in 0..50 {
            let mut c = Client::new(&app);
            let r = common::register(
                &mut c,
                &app,
                &format!("1390000{i:04}"),
                "password-1",
                "买家",
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            common::add_address(&mut c, &app).await;
            buyers.push(c);
        }
        let mut tasks = Vec::new();
        for (i, mut c) in buyers.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                checkout(&mut c, &format!("race-checkout-{i:04}"), &[(id, "1")]).await
            }));
        }
        let mut sold = 0;
        let mut order_ids = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            match r.status {
                200 => {
                    sold += 1;
                    order_ids.push(r.json()["orders"][0]["id"].as_i64().unwrap());
                }
                409 => assert_eq!(r.json()["code"], "out_of_stock"),
                s => panic!("unexpected {s}: {}", r.body),
            }
        }
        assert_eq!(sold, 10, "exactly ten units sold");
        assert_eq!(stock(&app, id).await, 0, "no negative stock");
        let status: String = sqlx::query_scalar("SELECT status FROM listings WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(status, "sold_out");
        let units = count(&app.db, &format!("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items WHERE listing_id = {id} AND order_id IN (SELECT id FROM orders WHERE created_at > 0 AND checkout_id IN (SELECT id FROM checkouts WHERE idempotency_key LIKE 'race-%'))")).await;
        assert_eq!(units, 10);
        // Pay them all, concurrently too, and the books balance.
        let coop_org: i64 =
            sqlx::query_scalar("SELECT organisation_id FROM listings WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        let admin = demo_login(&app, "admin@demo.zhunong.cn").await;
        let _ = coop_org;
        let mut tasks = Vec::new();
        for o in order_ids {
            let mut c = admin.clone();
            tasks.push(tokio::spawn(async move {
                c.post_form(
                    "/api/orders/confirm-payment",
                    &[("reference", "TEST-REF"), ("order_id", &o.to_string())],
                )
                .await
                .status
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn ledger_is_append_only_and_checked(app: TestApp) {
        let c = check_ledger(&app.db).await.unwrap();
        assert!(
            c.problems.is_empty(),
            "the demo books balance: {:?}",
            c.problems
        );
        assert!(c.paid_items > 0 && c.refunded_items > 0, "{c:?}");
        assert!(
            sqlx::query("UPDATE ledger_entries SET amount_fen = amount_fen + 1")
                .execute(&app.db.pool)
                .await
                .is_err(),
            "no updates"
        );
        assert!(
            sqlx::query("DELETE FROM ledger_entries")
                .execute(&app.db.pool)
                .await
                .is_err(),
            "no deletes"
        );
        // A row without evidence or a place in the chain is refused by the database itself.
        let (item, household): (i64, i64) = sqlx::query_as(
            "SELECT a.order_item_id, a.household_id FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
               JOIN orders o ON o.id = i.order_id WHERE o.status = 'delivered' ORDER BY a.order_item_id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(
            sqlx::query("INSERT INTO ledger_entries (household_id, amount_fen, source_type, order_item_id, occurred_at, created_at) VALUES ($1, -1, 'sale_reversal', $2, 1, 1)")
                .bind(household)
                .bind(item)
                .execute(&app.db.pool)
                .await
                .is_err(),
            "rows need evidence and a hash"
        );
        // On SQLite, INSERT OR REPLACE cannot replace a row either (recursive triggers).
        if app.backend == common::Backend::Sqlite {
            let r = sqlx::query(
                "INSERT OR REPLACE INTO ledger_entries (id, household_id, amount_fen, source_type, order_item_id, note, recorded_by,
                        occurred_at, created_at, evidence, evidence_ref, prev_hash, row_hash)
                 SELECT id, household_id, amount_fen * 100, source_type, order_item_id, note, recorded_by,
                        occurred_at, created_at, evidence, evidence_ref, prev_hash, row_hash
                   FROM ledger_entries WHERE row_hash IS NOT NULL ORDER BY id LIMIT 1",
            )
            .execute(&app.db.pool)
            .await;
            assert!(
                r.is_err(),
                "INSERT OR REPLACE must not replace a ledger row"
            );
        }
        assert!(check_ledger(&app.db).await.unwrap().problems.is_empty());
        // Someone with the database's keys goes around the triggers: the chain shows it.
        let tamper = |sql: &'static str| {
            let db = app.db.clone();
            let backend = app.backend;
            async move {
                let mut tx = db.pool.begin().await.unwrap();
                let (off, on) = match backend {
                    common::Backend::Sqlite => (
                        vec!["DROP TRIGGER ledger_no_update", "DROP TRIGGER ledger_no_delete"],
                        vec![
                            "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries are append-only'); END",
                            "CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries are append-only'); END",
                        ],
                    ),
                    common::Backend::Postgres => (
                        vec!["ALTER TABLE ledger_entries DISABLE TRIGGER ledger_no_update"],
                        vec!["ALTER TABLE ledger_entries ENABLE TRIGGER ledger_no_update"],
                    ),
                };
                for s in off {
                    sqlx::query(s).execute(&mut *tx).await.unwrap();
                }
                sqlx::query(sql).execute(&mut *tx).await.unwrap();
                for s in on {
                    sqlx::query(s).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        };
        // A manual row (an official's record) changed after it was written.
        let manual: i64 =
            sqlx::query_scalar("SELECT MIN(id) FROM ledger_entries WHERE evidence = 'official'")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        tamper("UPDATE ledger_entries SET amount_fen = amount_fen * 10 WHERE id = (SELECT MIN(id) FROM ledger_entries WHERE evidence = 'official')").await;
        let c = check_ledger(&app.db).await.unwrap();
        let bad = c.chain.first_bad.clone().unwrap_or_default();
        assert!(
            bad.starts_with(&format!("row {manual}:")) && bad.contains("content"),
            "{bad}"
        );
        tamper("UPDATE ledger_entries SET amount_fen = amount_fen / 10 WHERE id = (SELECT MIN(id) FROM ledger_entries WHERE evidence = 'official')").await;
        assert!(check_ledger(&app.db).await.unwrap().problems.is_empty());
        // A row removed from the middle of the chain.
        let (gone, next): (i64, i64) = sqlx::query_as(
            "SELECT e.id, (SELECT MIN(n.id) FROM ledger_entries n WHERE n.id > e.id) FROM ledger_entries e
              WHERE e.evidence = 'official' ORDER BY e.id LIMIT 1 OFFSET 3",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let _ = gone;
        tamper("DELETE FROM ledger_entries WHERE id = (SELECT id FROM ledger_entries WHERE evidence = 'official' ORDER BY id LIMIT 1 OFFSET 3)").await;
        let c = check_ledger(&app.db).await.unwrap();
        let bad = c.chain.first_bad.clone().unwrap_or_default();
        assert!(
            bad.starts_with(&format!("row {next}:")) && bad.contains("previous hash"),
            "{bad}"
        );
    }

    /// The role `zhunong runtime-role` describes serves the app, but cannot update, delete or
    /// truncate ledger rows (PostgreSQL only; SQLite has no roles).
    pub async fn postgres_runtime_role_cannot_rewrite_the_ledger(app: TestApp) {
        if app.backend != common::Backend::Postgres {
            return;
        }
        let role = format!(
            "zn_runtime_{}_{}",
            std::process::id(),
            zhunong::server::db::now() % 100_000
        );
        sqlx::query(&format!("CREATE ROLE {role} LOGIN"))
            .execute(&app.db.pool)
            .await
            .unwrap();
        for s in zhunong::server::db::runtime_role_sql(&role).unwrap() {
            sqlx::query(&s).execute(&app.db.pool).await.unwrap();
        }
        let (scheme, rest) = app.url.split_once("://").unwrap();
        let host = rest.split_once('@').map_or(rest, |(_, h)| h);
        let url = format!("{scheme}://{role}@{host}");
        let result = async {
            // The server's start-up (migrations already applied, chain sealed) works as the role.
            let db = zhunong::server::db::Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            // It can post through the ledger module.
            let household: i64 = sqlx::query_scalar("SELECT MIN(id) FROM households")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            let official: i64 = sqlx::query_scalar(
                "SELECT id FROM users WHERE role = 'official' ORDER BY id LIMIT 1",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            let mut tx = db.begin_write().await.unwrap();
            zhunong::ledger::post::record_other(
                &mut tx,
                &zhunong::ledger::post::OtherIncome {
                    household_id: household,
                    amount_fen: 100,
                    source: "wages",
                    note: "运行角色测试",
                    recorded_by: official,
                    occurred_at: 1,
                    created_at: 1,
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            // But never rewrite it, even with the triggers out of the way.
            for sql in [
                "UPDATE ledger_entries SET amount_fen = amount_fen + 1",
                "DELETE FROM ledger_entries",
                "TRUNCATE ledger_entries",
                "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_no_update",
                "DELETE FROM payment_notifications",
            ] {
                let e = sqlx::query(sql).execute(&db.pool).await.unwrap_err();
                assert!(
                    e.to_string().contains("permission denied")
                        || e.to_string().contains("must be owner"),
                    "{sql}: {e}"
                );
            }
            let c = check_ledger(&db).await.unwrap();
            assert!(c.problems.is_empty(), "{:?}", c.problems);
            db.close().await;
        }
        .await;
        for s in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
            sqlx::query(&s).execute(&app.db.pool).await.unwrap();
        }
        result
    }

    pub async fn catalogue_filters_and_sorts(app: TestApp) {
        let mut anon = Client::new(&app);
        let all = anon.post_form("/api/market/catalogue", &[]).await;
        assert_eq!(all.status, 200, "{}", all.body);
        let all = all.json();
        let list = all["items"].as_array().unwrap();
        assert!(list.len() >= 10);
        assert_eq!(list[0]["stalled"], true, "stalled produce first");
        let q = |fields: &'static [(&'static str, &'static str)]| {
            let mut c = Client::new(&app);
            async move { c.post_form("/api/market/catalogue", fields).await.json()["items"].take() }
        };
        let tea = q(&[("query[category]", "tea")]).await;
        assert!(
            tea.as_array()
                .unwrap()
                .iter()
                .all(|l| l["category"] == "tea")
                && !tea.as_array().unwrap().is_empty()
        );
        let zh = q(&[("query[q]", "紫菜")]).await;
        assert!(zh
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["title"].as_str().unwrap().contains("紫菜")));
        let en = q(&[("query[q]", "xiapu")]).await;
        assert!(
            !en.as_array().unwrap().is_empty(),
            "English county names match"
        );
        let by_cat = q(&[("query[q]", "茶叶")]).await;
        assert!(
            by_cat
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["category"] == "tea")
                && !by_cat.as_array().unwrap().is_empty()
        );
        let certified = q(&[("query[certified]", "1")]).await;
        let titles: Vec<&str> = certified
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap())
            .collect();
        assert!(titles.contains(&"政和白茶·白牡丹（演示）"));
        assert!(
            !titles.contains(&"屏南高山蔬菜礼盒（演示）"),
            "an expired certificate no longer shows"
        );
        let stalled = q(&[("query[stalled]", "1")]).await;
        assert_eq!(stalled.as_array().unwrap().len(), 2);
        let county = q(&[("query[county]", "350921")]).await;
        assert!(county
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["county"] == "霞浦县"));
        let cheap = q(&[("query[sort]", "price_asc")]).await;
        let prices: Vec<i64> = cheap
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["status"] == "on_sale")
            .map(|l| l["price_fen"].as_i64().unwrap())
            .collect();
        assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
        assert_eq!(
            anon.post_form("/api/market/catalogue", &[("query[sort]", "cheapest")])
                .await
                .status,
            400
        );
        assert_eq!(
            anon.post_form("/api/market/catalogue", &[("query[category]", "gold")])
                .await
                .status,
            400
        );
        // A listing's page: price breakdown and what it has added to incomes.
        let (id, price, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let d = anon
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await
            .json();
        let per_unit: i64 = d["breakdown"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["amount_fen"].as_i64().unwrap())
            .sum();
        assert_eq!(d["to_households_per_unit_fen"].as_i64().unwrap(), per_unit);
        assert!(per_unit > 0 && per_unit <= price);
        assert!(
            d["added_to_incomes_fen"].as_i64().unwrap() > 0,
            "demo orders were paid"
        );
        assert!(d["certificate"].is_string());
    }

    pub async fn sellers_list_produce_for_linked_households(app: TestApp) {
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let org: i64 = sqlx::query_scalar(
            "SELECT id FROM organisations WHERE name = '政和白茶专业合作社（演示）'",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let linked: i64 = sqlx::query_scalar("SELECT household_id FROM benefit_links WHERE organisation_id = $1 ORDER BY household_id LIMIT 1").bind(org).fetch_one(&app.db.pool).await.unwrap();
        let unlinked: i64 = sqlx::query_scalar("SELECT id FROM households WHERE id NOT IN (SELECT household_id FROM benefit_links WHERE organisation_id = $1) ORDER BY id LIMIT 1").bind(org).fetch_one(&app.db.pool).await.unwrap();
        let form = |terms: String, price: &'static str| {
            vec![
                ("form[title]".to_owned(), "政和白茶·寿眉".to_owned()),
                ("form[category]".into(), "tea".into()),
                ("form[unit]".into(), "300克/饼".into()),
                ("form[price]".into(), price.into()),
                ("form[stock]".into(), "50".into()),
                ("form[origin_code]".into(), "350725".into()),
                ("form[status]".into(), "on_sale".into()),
                ("form[terms_kind]".into(), "per_unit".into()),
                ("form[terms]".into(), terms),
            ]
        };
        let send = |c: &mut Client, f: Vec<(String, String)>| {
            let mut c = c.clone();
            async move {
                let refs: Vec<(&str, &str)> =
                    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                c.post_form("/api/market/save-listing", &refs).await
            }
        };
        let desk = coop.post_form("/api/market/seller-desk", &[]).await;
        assert_eq!(desk.status, 200, "{}", desk.body);
        let desk = desk.json();
        assert!(desk["households"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["household_id"] == linked));
        assert!(desk["listings"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["seller_name"] == "政和白茶专业合作社（演示）"));
        assert_eq!(
            Client::new(&app)
                .post_form("/api/market/seller-desk", &[])
                .await
                .status,
            401
        );
        let before = count(&app.db, "SELECT COUNT(*) FROM listings").await;
        let r = send(&mut coop, form(format!("{unlinked}:30"), "98")).await;
        assert_eq!(r.status, 400, "an unlinked household: {}", r.body);
        assert_eq!(r.json()["code"], "invalid_terms");
        let r = send(&mut coop, form(format!("{linked}:120"), "98")).await;
        assert_eq!(r.status, 400, "more than the price");
        let r = send(&mut coop, form(format!("{linked}:30"), "-5")).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "invalid_listing");
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM listings").await,
            before
        );
        let r = send(&mut coop, form(format!("{linked}:30"), "98")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json().as_i64().unwrap();
        let d = Client::new(&app)
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await
            .json();
        assert_eq!(d["breakdown"][0]["amount_fen"], 3000);
        assert_eq!(d["card"]["price_fen"], 9800);
        // Buyers cannot list; a household lists its own produce directly.
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            send(&mut buyer, form(format!("{linked}:30"), "98"))
                .await
                .status,
            403
        );
        let mut hh = demo_login(&app, "household@demo.zhunong.cn").await;
        let mut f = form(String::new(), "20");
        f.retain(|(k, _)| !k.contains("terms"));
        let r = send(&mut hh, f).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // 滞销 and certificates.
        let mut zhenghe = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let r = zhenghe
            .post_form(
                "/api/market/stalled",
                &[
                    ("listing_id", &id.to_string()),
                    ("stalled", "true"),
                    ("reason", "雨季滞销"),
                    ("quantity", "300"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut xiapu = demo_login(&app, "gov.xiapu@demo.zhunong.cn").await;
        assert_eq!(
            xiapu
                .post_form(
                    "/api/market/stalled",
                    &[("listing_id", &id.to_string()), ("stalled", "false")]
                )
                .await
                .status,
            403
        );
        assert_eq!(
            xiapu
                .post_form(
                    "/api/market/certify",
                    &[
                        ("listing_id", &id.to_string()),
                        ("number", "X-1"),
                        ("valid_from", "2026-01-01"),
                        ("valid_until", "2027-12-31")
                    ]
                )
                .await
                .status,
            403
        );
        assert_eq!(
            zhenghe
                .post_form(
                    "/api/market/certify",
                    &[
                        ("listing_id", &id.to_string()),
                        ("number", "X-1"),
                        ("valid_from", "2026-13-01"),
                        ("valid_until", "2027-12-31")
                    ]
                )
                .await
                .status,
            400
        );
        assert_eq!(
            zhenghe
                .post_form(
                    "/api/market/certify",
                    &[
                        ("listing_id", &id.to_string()),
                        ("number", "闽扶认-1"),
                        ("valid_from", "2000-01-01"),
                        ("valid_until", "2999-12-31")
                    ]
                )
                .await
                .status,
            200
        );
        let d = Client::new(&app)
            .post_form("/api/market/listing", &[("id", &id.to_string())])
            .await
            .json();
        assert_eq!(d["card"]["stalled"], true);
        assert_eq!(d["card"]["certified"], true);
    }

    pub async fn institution_purchases_count_toward_the_pledge(app: TestApp) {
        let mut school = demo_login(&app, "school@demo.zhunong.cn").await;
        let before = school.post_form("/api/orders/pledge", &[]).await;
        assert_eq!(before.status, 200, "{}", before.body);
        let before = before.json();
        assert_eq!(before["pledge_fen"], 5_000_000);
        let in_db = count(&app.db, "SELECT CAST(COALESCE(SUM(total_fen), 0) AS BIGINT) FROM orders o JOIN organisations g ON g.id = o.institution_id WHERE g.name = '福州市演示中学' AND o.status IN ('paid', 'shipped', 'delivered')").await;
        assert_eq!(before["purchased_fen"].as_i64().unwrap(), in_db);
        assert!(in_db > 0, "the demo school has bought");
        let (tea, price, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let r = checkout(&mut school, "test-checkout-school", &[(tea, "3")]).await;
        let order = r.json()["orders"][0]["id"].as_i64().unwrap().to_string();
        let unpaid = school.post_form("/api/orders/pledge", &[]).await.json();
        assert_eq!(
            unpaid["purchased_fen"], before["purchased_fen"],
            "unpaid orders do not count"
        );
        // They show as pending until paid.
        let total: i64 = sqlx::query_scalar("SELECT total_fen FROM orders WHERE id = $1")
            .bind(order.parse::<i64>().unwrap())
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(
            unpaid["pending_fen"].as_i64().unwrap(),
            before["pending_fen"].as_i64().unwrap() + total,
            "{unpaid}"
        );
        assert_eq!(
            unpaid["pending_orders"].as_i64().unwrap(),
            before["pending_orders"].as_i64().unwrap() + 1
        );
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        assert_eq!(
            coop.post_form(
                "/api/orders/confirm-payment",
                &[("reference", "TEST-REF"), ("order_id", &order)]
            )
            .await
            .status,
            200
        );
        let after = school.post_form("/api/orders/pledge", &[]).await.json();
        assert_eq!(after["purchased_fen"].as_i64().unwrap(), in_db + 3 * price);
        assert_eq!(
            after["pending_fen"], before["pending_fen"],
            "paid: no longer pending"
        );
        // Other buyers have no pledge; another institution's is not the school's to read.
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(buyer.post_form("/api/orders/pledge", &[]).await.status, 403);
        let union: i64 =
            sqlx::query_scalar("SELECT id FROM organisations WHERE name = '三明市演示机关工会'")
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(
            school
                .post_form(
                    "/api/orders/pledge",
                    &[("institution_id", &union.to_string())]
                )
                .await
                .status,
            403
        );
    }

    async fn notices(c: &mut Client) -> serde_json::Value {
        let r = c.post_form("/api/notices/list", &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// The newest notice about `order`: its kind.
    fn newest_about(list: &serde_json::Value, order: i64) -> Option<String> {
        list["page"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["subject_id"] == order)
            .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
    }

    /// A mail or SMS gateway that answers 503 while `down`, and keeps what it accepted.
    async fn gateway() -> (
        String,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
        std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    ) {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let down = Arc::new(AtomicBool::new(true));
        let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let (d, g) = (down.clone(), got.clone());
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (d, g) = (d.clone(), g.clone());
                async move {
                    if d.load(Ordering::SeqCst) {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        g.lock().unwrap().push(v);
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/send"), down, got)
    }

    pub async fn notices_follow_each_order_and_the_outbox_retries(app: TestApp) {
        let (id, _, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let mut other = demo_login(&app, "school@demo.zhunong.cn").await;
        // The demo's own orders told the demo buyer already.
        let unread0 = notices(&mut buyer).await["unread"].as_i64().unwrap();
        // Their messages count as sent: the outbox below holds this test's alone.
        sqlx::query("UPDATE notifications SET sent_at = 1 WHERE sent_at IS NULL")
            .execute(&app.db.pool)
            .await
            .unwrap();

        let r = checkout(&mut buyer, "notice-test-0001", &[(id, "1")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let order = r.json()["orders"][0]["id"].as_i64().unwrap();
        let o = order.to_string();
        assert_eq!(
            newest_about(&notices(&mut coop).await, order).as_deref(),
            Some("order_placed")
        );
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[("reference", "NOTICE-REF"), ("order_id", &o)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            newest_about(&notices(&mut buyer).await, order).as_deref(),
            Some("order_paid")
        );
        assert_eq!(
            newest_about(&notices(&mut coop).await, order).as_deref(),
            Some("order_to_ship")
        );
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
        assert_eq!(
            newest_about(&notices(&mut buyer).await, order).as_deref(),
            Some("order_shipped")
        );
        let r = buyer
            .post_form("/api/orders/deliver", &[("order_id", &o)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            newest_about(&notices(&mut coop).await, order).as_deref(),
            Some("order_delivered")
        );
        // A second order, paid and refunded before it ships.
        let r = checkout(&mut buyer, "notice-test-0002", &[(id, "1")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let refunded = r.json()["orders"][0]["id"].as_i64().unwrap();
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[
                    ("reference", "NOTICE-REF-2"),
                    ("order_id", &refunded.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &refunded.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mine = notices(&mut buyer).await;
        assert_eq!(
            newest_about(&mine, refunded).as_deref(),
            Some("order_refunded")
        );
        assert_eq!(
            mine["unread"],
            unread0 + 4,
            "paid and shipped; paid and refunded: {mine}"
        );
        // The header learns the count with the session.
        let s = buyer.post_form("/api/auth/session", &[]).await.json();
        assert_eq!(s["unread_notices"], unread0 + 4, "{s}");

        // Nobody else hears of it, nor can mark another's notice read.
        assert_eq!(newest_about(&notices(&mut other).await, order), None);
        let theirs = mine["page"]["items"][0]["id"].as_i64().unwrap();
        let r = other
            .post_form("/api/notices/read", &[("id", &theirs.to_string())])
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(notices(&mut buyer).await["unread"], unread0 + 4);
        let r = buyer
            .post_form("/api/notices/read", &[("id", &theirs.to_string())])
            .await;
        assert_eq!((r.status, r.json()), (200, serde_json::json!(unread0 + 3)));
        let r = buyer.post_form("/api/notices/read", &[]).await;
        assert_eq!((r.status, r.json()), (200, serde_json::json!(0)));
        let r = Client::new(&app).post_form("/api/notices/list", &[]).await;
        assert_eq!(r.status, 401);

        // Each notice also waits in the outbox for the user's phone or e-mail.
        let queued = count(
            &app.db,
            &format!("SELECT COUNT(*) FROM notifications WHERE recipient = 'buyer@demo.zhunong.cn' AND channel = 'email' AND body LIKE '%#{order}：%' AND sent_at IS NULL"),
        )
        .await;
        assert_eq!(queued, 2, "paid, shipped");

        // The gateway is down: every message is kept and tried again later, then delivered once.
        let (url, down, got) = gateway().await;
        let mut settings = zhunong::server::config::Settings::for_database(&app.url);
        settings.notify_url = Some(url);
        let due = count(
            &app.db,
            "SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL",
        )
        .await;
        assert!(due >= 6, "{due}");
        let t0 = zhunong::server::db::now();
        let round = zhunong::server::notify::deliver_due(&app.db, &settings, t0)
            .await
            .unwrap();
        assert_eq!((round.sent, round.failed as i64), (0, due.min(100)));
        let (attempts, next, error): (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT attempts, next_attempt_at, last_error FROM notifications WHERE sent_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!((attempts, next), (1, t0 + 30));
        assert!(error.unwrap_or_default().contains("503"));
        let early = zhunong::server::notify::deliver_due(&app.db, &settings, t0 + 10)
            .await
            .unwrap();
        assert_eq!((early.sent, early.failed), (0, 0), "not before its time");
        down.store(false, std::sync::atomic::Ordering::SeqCst);
        let round = zhunong::server::notify::deliver_due(&app.db, &settings, t0 + 31)
            .await
            .unwrap();
        assert_eq!((round.sent as i64, round.failed), (due.min(100), 0));
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL"
            )
            .await,
            0
        );
        let again = zhunong::server::notify::deliver_due(&app.db, &settings, t0 + 4000)
            .await
            .unwrap();
        assert_eq!((again.sent, again.failed), (0, 0), "each message goes once");
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len() as i64, due);
        assert!(got.iter().any(|m| m["to"] == "buyer@demo.zhunong.cn"
            && m["channel"] == "email"
            && m["body"] == format!("【助农集市】订单 #{order}：卖家已发货")));
    }

    pub async fn buyers_share_an_impact_receipt_without_their_name(app: TestApp) {
        let (id, _, _) = listing_by_title(&app, "政和白茶·白牡丹（演示）").await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let r = checkout(&mut buyer, "share-receipt-0001", &[(id, "1")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let order_id = r.json()["orders"][0]["id"].as_i64().unwrap().to_string();
        // Nothing to share before payment.
        let r = buyer
            .post_form("/api/orders/share-impact", &[("order_id", &order_id)])
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[("reference", "SHARE-REF"), ("order_id", &order_id)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Only the buyer shares it: not the seller, another buyer, an admin, or nobody.
        for login in [
            "coop.zhenghe@demo.zhunong.cn",
            "school@demo.zhunong.cn",
            "admin@demo.zhunong.cn",
        ] {
            let mut other = demo_login(&app, login).await;
            let r = other
                .post_form("/api/orders/share-impact", &[("order_id", &order_id)])
                .await;
            assert_eq!(r.status, 403, "{login}: {}", r.body);
        }
        let r = Client::new(&app)
            .post_form("/api/orders/share-impact", &[("order_id", &order_id)])
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM impact_shares").await,
            0
        );

        // The buyer shares it: the same link each time, shown on their receipt.
        let r = buyer
            .post_form("/api/orders/share-impact", &[("order_id", &order_id)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let link = r.json();
        let path = link["path"].as_str().unwrap().to_owned();
        let token = path.strip_prefix("/impact/").expect("the page").to_owned();
        assert_eq!(token.len(), 12);
        assert!(link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/s/r{token}")));
        assert_eq!(link["qr"], format!("/s/r{token}/qr.svg"));
        let again = buyer
            .post_form("/api/orders/share-impact", &[("order_id", &order_id)])
            .await;
        assert_eq!(again.json()["path"], path.as_str());
        let receipt = buyer
            .post_form("/api/orders/impact", &[("order_id", &order_id)])
            .await
            .json();
        assert_eq!(receipt["shared"]["path"], path.as_str());

        // Anyone with the link sees what was bought and where the money went, not who bought
        // it, nor who was near the monitoring line. One of its households withdraws its consent
        // to be named; one keeps it.
        let households: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT a.household_id FROM order_item_allocations a
               JOIN order_items i ON i.id = a.order_item_id WHERE i.order_id = $1 ORDER BY a.household_id",
        )
        .bind(order_id.parse::<i64>().unwrap())
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert!(!households.is_empty());
        let keeps = usize::from(households.len() > 1);
        for (i, h) in households.iter().enumerate() {
            sqlx::query("UPDATE households SET story_consent = $1 WHERE id = $2")
                .bind(i64::from(i < keeps))
                .bind(h)
                .execute(&app.db.pool)
                .await
                .unwrap();
        }
        let r = Client::new(&app)
            .post_form("/api/orders/shared-impact", &[("token", &token)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let public = r.json();
        assert_eq!(public["to_households_fen"], receipt["to_households_fen"]);
        assert_eq!(public["households"], receipt["households"]);
        assert_eq!(public["lines"][0]["title"], "政和白茶·白牡丹（演示）");
        assert_eq!(public["lines"][0]["quantity"], 1);
        let mut page = Client::new(&app);
        page.accept = "text/html";
        let html = page.get(&path).await;
        assert_eq!(html.status, 200);
        assert!(html.body.contains("data-testid=\"impact-public-page\""));
        assert!(html.body.contains("政和白茶·白牡丹（演示）"));
        assert!(html
            .body
            .contains("<meta name=\"robots\" content=\"noindex\""));
        // Neither the answer nor the page (with its data for hydration) names the buyer, a
        // household that did not consent, or anything about the monitoring line.
        let hidden: Vec<String> = sqlx::query_scalar(
            "SELECT h.head_name FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
               JOIN households h ON h.id = a.household_id
              WHERE i.order_id = $1 AND h.story_consent = 0",
        )
        .bind(order_id.parse::<i64>().unwrap())
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(hidden.len(), households.len() - keeps);
        assert_eq!(public["named"].as_array().unwrap().len(), keeps, "{public}");
        let text = public.to_string();
        let main = &html.body[html.body.find("<main").unwrap()..html.body.find("</main>").unwrap()];
        for secret in ["buyer@demo", "爱心买家", "监测", "lifted"]
            .into_iter()
            .map(str::to_owned)
            .chain(hidden)
        {
            assert!(!text.contains(&secret), "{secret} in {text}");
            assert!(!main.contains(&secret), "{secret} on the page");
        }
        for name in ["buyer@demo", "爱心买家"] {
            assert!(!html.body.contains(name), "{name} in the page's data");
        }
        // Its short link and QR code.
        let r = page.get(&format!("/s/r{token}")).await;
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some(path.as_str()));
        let r = page.get(&format!("/s/r{token}/qr.svg")).await;
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with("<svg"), "{}", r.body);
        // Guessing gets nothing.
        for bad in ["aaaaaaaaaaaa", "short", "AAAAAAAAAAAA", "aaaaaaaaaaa1"] {
            let r = Client::new(&app)
                .post_form("/api/orders/shared-impact", &[("token", bad)])
                .await;
            assert_eq!(r.status, 404, "{bad}");
            assert_eq!(page.get(&format!("/s/r{bad}")).await.status, 404);
        }

        // Refunded, the receipt is gone from the public (the money went back).
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &order_id)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = Client::new(&app)
            .post_form("/api/orders/shared-impact", &[("token", &token)])
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(page.get(&format!("/s/r{token}")).await.status, 404);
        // Stopping the sharing removes the link for good (nothing else).
        let r = buyer
            .post_form("/api/orders/unshare-impact", &[("order_id", &order_id)])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM impact_shares").await,
            0
        );
    }
}
