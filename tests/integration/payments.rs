//! Integration tests of payments through WeChat Pay, Alipay and bank transfer. The fake
//! provider speaks both providers' protocols with test keys, so every case runs the real
//! signing, verification and decryption. Every case runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set.

use crate::common;

use common::{count, demo_login, Client, TestApp};

on_both_backends! {
    wechat_pay_end_to_end_then_refund;
    alipay_end_to_end_then_refund;
    notifications_that_are_forged_stale_replayed_or_wrong;
    a_payment_after_cancel_is_kept_and_refunded;
    transfers_need_a_reference_and_count_as_attested;
    only_the_buyer_pays;
}

mod cases {
    use super::*;
    use zhunong::ledger::server::check_ledger;
    use zhunong::payments::fake;

    const TEA: &str = "政和白茶·白牡丹（演示）";

    /// A fresh unpaid order of the demo buyer (one unit of the tea); returns (order id, total).
    async fn new_order(app: &TestApp, buyer: &mut Client, key: &str) -> (i64, i64) {
        let id = common::listing_id(app, TEA).await;
        let r = buyer
            .post_form(
                "/api/orders/checkout",
                &[
                    ("idempotency_key", key),
                    ("items[0][listing_id]", &id.to_string()),
                    ("items[0][quantity]", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = &r.json()["orders"][0];
        (o["id"].as_i64().unwrap(), o["total_fen"].as_i64().unwrap())
    }

    async fn status(app: &TestApp, order: i64) -> (String, i64, Option<String>) {
        sqlx::query_as("SELECT status, refund_due, paid_with FROM orders WHERE id = $1")
            .bind(order)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
    }

    /// Sale rows of an order by evidence kind: (count, sum).
    async fn sale_rows(app: &TestApp, order: i64, evidence: &str) -> (i64, i64) {
        sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) FROM ledger_entries e
               JOIN order_items i ON i.id = e.order_item_id WHERE i.order_id = $1 AND e.evidence = $2",
        )
        .bind(order)
        .bind(evidence)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    }

    /// The path and query of an absolute address on the app.
    fn local(app: &TestApp, url: &str) -> String {
        let prefix = format!("http://{}", app.addr);
        url.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{url} is not on {prefix}"))
            .to_owned()
    }

    async fn start(buyer: &mut Client, order: i64, method: &str) -> serde_json::Value {
        let r = buyer
            .post_form(
                "/api/payments/start",
                &[("order_id", &order.to_string()), ("method", method)],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    async fn books_balance(app: &TestApp) {
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
    }

    pub async fn wechat_pay_end_to_end_then_refund(app: TestApp) {
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let (order, total) = new_order(&app, &mut buyer, "pay-wechat-0001").await;
        let page = start(&mut buyer, order, "wechat").await;
        assert_eq!(
            page["methods"],
            serde_json::json!(["wechat", "alipay", "transfer"])
        );
        let qr = &page["action"]["QrCode"];
        assert!(qr["svg"].as_str().unwrap().starts_with("<svg"), "{page}");
        let open = qr["open"].as_str().unwrap().to_owned();
        // Asked again, the same payment is shown (no second trade).
        let again = start(&mut buyer, order, "wechat").await;
        assert_eq!(again["action"]["QrCode"]["open"], open.as_str());
        assert_eq!(
            count(
                &app.db,
                &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order}")
            )
            .await,
            1
        );
        // The fake provider's page, then its "pay" button (what scanning and paying do).
        let mut phone = Client::new(&app);
        let r = phone.get(&local(&app, &open)).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("data-testid=\"fake-pay\""), "{}", r.body);
        let r = phone.post_form(&local(&app, &open), &[]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(
            status(&app, order).await,
            ("paid".into(), 0, Some("wechat".into()))
        );
        let (rows, sum) = sale_rows(&app, order, "provider").await;
        assert!(rows > 0 && sum > 0 && sum <= total, "{rows} {sum}");
        let r = buyer
            .post_form("/api/payments/status", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.json(), "paid");
        // The evidence names the provider's transaction, which a verified notification paid.
        let evidence: String = sqlx::query_scalar(
            "SELECT e.evidence_ref FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id
              WHERE i.order_id = $1 LIMIT 1",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(evidence.starts_with("wechat:FAKE4200"), "{evidence}");
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM payment_notifications WHERE outcome = 'paid' AND provider = 'wechat' AND event_id NOT LIKE 'demo-%'").await, 1);
        // The buyer's receipt says the payment is verified.
        let r = buyer
            .post_form("/api/orders/impact", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.json()["verified"], true);
        // Paying again is not offered.
        let page = start(&mut buyer, order, "wechat").await;
        assert!(page["action"].is_null());
        books_balance(&app).await;

        // The co-op refunds: through WeChat Pay's refund interface, then the books.
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(status(&app, order).await.0, "refunded");
        let (_, reversed) = sqlx::query_as::<_, (i64, i64)>(
            "SELECT COUNT(*), CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) FROM ledger_entries e
               JOIN order_items i ON i.id = e.order_item_id WHERE i.order_id = $1 AND e.source_type = 'sale_reversal'",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(reversed, -sum);
        // WeChat Pay's refund notification follows; it changes nothing more.
        let rows_now = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;
        for _ in 0..50 {
            if count(&app.db, "SELECT COUNT(*) FROM payment_notifications WHERE outcome = 'refunded' AND event_id NOT LIKE 'demo-%'").await > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(count(&app.db, "SELECT COUNT(*) FROM payment_notifications WHERE outcome = 'refunded' AND event_id NOT LIKE 'demo-%'").await, 1);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows_now
        );
        books_balance(&app).await;
    }

    pub async fn alipay_end_to_end_then_refund(app: TestApp) {
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let (order, _) = new_order(&app, &mut buyer, "pay-alipay-0001").await;
        let page = start(&mut buyer, order, "alipay").await;
        let url = page["action"]["Redirect"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(url.contains("/fake-pay/alipay/gateway.do?"), "{url}");
        assert!(
            url.contains("sign_type=RSA2") && url.contains("alipay.trade.page.pay"),
            "{url}"
        );
        // A gateway address whose parameters were changed is refused (the signature).
        let mut browser = Client::new(&app);
        let tampered = local(&app, &url).replacen("total_amount", "total_amounX", 1);
        assert_eq!(browser.get(&tampered).await.status, 400);
        let r = browser.get(&local(&app, &url)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let action = r
            .body
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_owned();
        assert!(action.starts_with("/fake-pay/alipay/pay/"), "{action}");
        let r = browser.post_form(&action, &[]).await;
        assert_eq!(r.status, 303);
        assert_eq!(
            status(&app, order).await,
            ("paid".into(), 0, Some("alipay".into()))
        );
        assert!(sale_rows(&app, order, "provider").await.0 > 0);
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(status(&app, order).await.0, "refunded");
        let refunded: String =
            sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
                .bind(order)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!(refunded, "refunded");
        books_balance(&app).await;
    }

    /// The out_trade_no of the order's payment.
    async fn trade_no(app: &TestApp, order: i64) -> String {
        sqlx::query_scalar(
            "SELECT out_trade_no FROM payments WHERE order_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    }

    fn transaction(no: &str, amount: i64) -> serde_json::Value {
        serde_json::json!({
            "mchid": fake::MCHID, "appid": fake::APPID, "out_trade_no": no,
            "transaction_id": format!("4200{no}"), "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "amount": { "total": amount, "payer_total": amount, "currency": "CNY" },
        })
    }

    async fn notify(
        app: &TestApp,
        body: &str,
        headers: &[(&'static str, String)],
    ) -> common::Response {
        let mut c = Client::new(app);
        c.extra_headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        c.post_raw(
            "/api/payments/wechat/notify",
            "application/json",
            body.as_bytes(),
        )
        .await
    }

    pub async fn notifications_that_are_forged_stale_replayed_or_wrong(app: TestApp) {
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let (order, total) = new_order(&app, &mut buyer, "pay-notify-0001").await;
        start(&mut buyer, order, "wechat").await;
        let no = trade_no(&app, order).await;
        let rows = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;
        let unchanged = |app: &TestApp| {
            let app_db = app.db.clone();
            async move {
                assert_eq!(
                    count(&app_db, "SELECT COUNT(*) FROM ledger_entries").await,
                    rows
                );
            }
        };
        // Forged: a signed body altered afterwards.
        let (body, headers) = fake::wechat_notification(
            "TRANSACTION.SUCCESS",
            "transaction",
            &transaction(&no, total),
        );
        let forged = body.replacen("\"id\":\"", "\"id\":\"x", 1);
        let r = notify(&app, &forged, &headers).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.json()["code"], "FAIL");
        // No signature at all.
        assert_eq!(notify(&app, &body, &[]).await.status, 401);
        // Stale: correctly signed, but ten minutes old.
        let old = zhunong::payments::now() - 600;
        let stale = fake::wechat_signed_headers(body.as_bytes(), old);
        assert_eq!(notify(&app, &body, &stale).await.status, 401);
        // Signed by the platform, but the amount is not the order's.
        let (wrong, wrong_h) = fake::wechat_notification(
            "TRANSACTION.SUCCESS",
            "transaction",
            &transaction(&no, total - 1),
        );
        let r = notify(&app, &wrong, &wrong_h).await;
        assert_eq!(r.status, 400, "{}", r.body);
        // An unknown trade.
        let (unknown, unknown_h) = fake::wechat_notification(
            "TRANSACTION.SUCCESS",
            "transaction",
            &transaction("ZN0-nothing", total),
        );
        assert_eq!(notify(&app, &unknown, &unknown_h).await.status, 404);
        unchanged(&app).await;
        assert_eq!(status(&app, order).await.0, "placed");
        // The genuine one: acknowledged with 204, paid.
        let r = notify(&app, &body, &headers).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(status(&app, order).await.0, "paid");
        let after = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;
        assert!(after > rows);
        // Replayed: acknowledged (so WeChat Pay stops sending), nothing posted twice.
        assert_eq!(notify(&app, &body, &headers).await.status, 204);
        // Another event for the same, already paid, transaction: nothing either.
        let (again, again_h) = fake::wechat_notification(
            "TRANSACTION.SUCCESS",
            "transaction",
            &transaction(&no, total),
        );
        assert_eq!(notify(&app, &again, &again_h).await.status, 204);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            after
        );
        // Alipay: a notification with a bad signature gets "fail".
        let mut c = Client::new(&app);
        let r = c
            .post_form(
                "/api/payments/alipay/notify",
                &[
                    ("notify_id", "x"),
                    ("out_trade_no", &no),
                    ("total_amount", "1.00"),
                    ("trade_status", "TRADE_SUCCESS"),
                    ("app_id", fake::ALIPAY_APP_ID),
                    ("sign_type", "RSA2"),
                    ("sign", "AAAA"),
                    ("trade_no", "1"),
                ],
            )
            .await;
        assert_eq!((r.status, r.body.as_str()), (401, "fail"));
        books_balance(&app).await;
    }

    pub async fn a_payment_after_cancel_is_kept_and_refunded(app: TestApp) {
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let (order, _) = new_order(&app, &mut buyer, "pay-cancel-0001").await;
        let page = start(&mut buyer, order, "wechat").await;
        let open = page["action"]["QrCode"]["open"]
            .as_str()
            .unwrap()
            .to_owned();
        let rows = count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await;
        // The buyer cancels, then pays on the phone anyway.
        let r = buyer
            .post_form("/api/orders/cancel", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = Client::new(&app).post_form(&local(&app, &open), &[]).await;
        assert_eq!(r.status, 303);
        // Recorded, never dropped: the order stays cancelled with a refund due; no income.
        assert_eq!(status(&app, order).await, ("cancelled".into(), 1, None));
        assert_eq!(
            count(
                &app.db,
                &format!(
                    "SELECT COUNT(*) FROM payments WHERE order_id = {order} AND status = 'paid'"
                )
            )
            .await,
            1
        );
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows
        );
        let r = buyer.post_form("/api/orders/mine", &[]).await;
        let mine = r.json();
        let o = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == order)
            .unwrap()
            .clone();
        assert_eq!(o["refund_due"], true);
        books_balance(&app).await;
        // The seller's refund settles it.
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(status(&app, order).await, ("cancelled".into(), 0, None));
        assert_eq!(count(&app.db, &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order} AND status = 'refunded'")).await, 1);
        assert_eq!(
            count(&app.db, "SELECT COUNT(*) FROM ledger_entries").await,
            rows
        );
        // Nothing is left to refund.
        let r = coop
            .post_form("/api/orders/refund", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 409);
        books_balance(&app).await;
    }

    pub async fn transfers_need_a_reference_and_count_as_attested(app: TestApp) {
        let mut school = demo_login(&app, "school@demo.zhunong.cn").await;
        let (order, _) = new_order(&app, &mut school, "pay-transfer-0001").await;
        let page = start(&mut school, order, "transfer").await;
        assert_eq!(
            page["action"]["TransferBySeller"]["remark"],
            format!("ZN{order}")
        );
        let household: i64 = sqlx::query_scalar(
            "SELECT a.household_id FROM order_item_allocations a JOIN order_items i ON i.id = a.order_item_id
              WHERE i.order_id = $1 LIMIT 1",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let mut official = demo_login(&app, "gov.zhenghe@demo.zhunong.cn").await;
        let record = |c: &mut Client| {
            let mut c = c.clone();
            async move {
                c.post_form(
                    "/api/ledger/household",
                    &[("household_id", &household.to_string())],
                )
                .await
                .json()
            }
        };
        let before = record(&mut official).await;
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        for bad in ["", "   ", &"号".repeat(65)] {
            let r = coop
                .post_form(
                    "/api/orders/confirm-payment",
                    &[("order_id", &order.to_string()), ("reference", bad)],
                )
                .await;
            assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
            assert_eq!(r.json()["code"], "transfer_reference_required");
        }
        assert_eq!(status(&app, order).await.0, "placed");
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[
                    ("order_id", &order.to_string()),
                    ("reference", "ICBC20261129-0042"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            status(&app, order).await,
            ("paid".into(), 0, Some("transfer".into()))
        );
        assert!(sale_rows(&app, order, "transfer").await.1 > 0);
        let sum: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(e.amount_fen) AS BIGINT) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id
              WHERE i.order_id = $1 AND e.household_id = $2",
        )
        .bind(order)
        .bind(household)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        let after = record(&mut official).await;
        // The officials' list shows the same split.
        let list = official
            .post_form("/api/official/households", &[])
            .await
            .json();
        let listed = list["households"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == household)
            .cloned();
        let h = listed.expect("the county's households fit on the first page");
        assert_eq!(h["attested_fen"], after["attested_fen"]);
        assert_eq!(h["verified_fen"], after["verified_fen"]);
        // The seller's word raises the total and the attested part, never the verified part.
        assert_eq!(
            after["attested_fen"].as_i64().unwrap() - before["attested_fen"].as_i64().unwrap(),
            sum
        );
        assert_eq!(after["verified_fen"], before["verified_fen"]);
        let rows = after["recent"]["items"].as_array().unwrap();
        assert!(rows
            .iter()
            .any(|r| r["evidence"] == "transfer" && r["evidence_ref"] == "ICBC20261129-0042"));
        let r = school
            .post_form("/api/orders/impact", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.json()["verified"], false);
        assert_eq!(r.json()["lifted_past_line"], 0);
        books_balance(&app).await;
    }

    pub async fn only_the_buyer_pays(app: TestApp) {
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let (order, _) = new_order(&app, &mut buyer, "pay-policy-0001").await;
        for login in [
            "school@demo.zhunong.cn",
            "coop.zhenghe@demo.zhunong.cn",
            "gov.zhenghe@demo.zhunong.cn",
        ] {
            let mut other = demo_login(&app, login).await;
            for path in ["/api/payments/start", "/api/payments/status"] {
                let r = other
                    .post_form(
                        path,
                        &[("order_id", &order.to_string()), ("method", "wechat")],
                    )
                    .await;
                assert_eq!(r.status, 403, "{login} {path}: {}", r.body);
            }
        }
        let r = Client::new(&app)
            .post_form("/api/payments/start", &[("order_id", &order.to_string())])
            .await;
        assert_eq!(r.status, 401);
        let r = buyer
            .post_form(
                "/api/payments/start",
                &[("order_id", &order.to_string()), ("method", "bitcoin")],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["field"], "method");
        // None of it started a payment.
        assert_eq!(
            count(
                &app.db,
                &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order}")
            )
            .await,
            0
        );
    }
}
