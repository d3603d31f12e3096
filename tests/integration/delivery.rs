//! Integration tests of delivery: the address book and its region picker, sellers' terms,
//! shipping charged apart from the produce, invoices, fulfilment (tracking, masking, overdue,
//! the to-do list) and automatic receipt. Both backends.

use crate::common;

use common::{count, demo_login, Client, TestApp};

on_both_backends! {
    the_address_book_checks_what_it_keeps;
    shipping_is_charged_apart_from_income;
    fulfilment_tracks_masks_and_flags;
}

mod cases {
    use super::*;
    use zhunong::ledger::server::check_ledger;

    const TEA: &str = "政和白茶·白牡丹（演示）";

    async fn township(app: &TestApp) -> String {
        sqlx::query_scalar(
            "SELECT code FROM regions WHERE level = 'township' ORDER BY code LIMIT 1",
        )
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
    }

    pub async fn the_address_book_checks_what_it_keeps(app: TestApp) {
        let mut anon = Client::new(&app);
        // The picker: provinces, then each level's children.
        let r = anon.post_form("/api/delivery/regions", &[]).await;
        assert_eq!(r.status, 200);
        assert!(r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == "350000"));
        let cities = anon
            .post_form("/api/delivery/regions", &[("parent", "350000")])
            .await
            .json();
        assert!(cities
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "350700"));
        // A township's villages (the self-report picks one); nothing below a village.
        let t = township(&app).await;
        let villages = anon
            .post_form("/api/delivery/regions", &[("parent", &t)])
            .await
            .json();
        let villages = villages.as_array().unwrap();
        assert!(!villages.is_empty());
        assert!(villages
            .iter()
            .all(|v| v["code"].as_str().unwrap().len() == 12));
        let v = villages[0]["code"].as_str().unwrap();
        assert_eq!(
            anon.post_form("/api/delivery/regions", &[("parent", v)])
                .await
                .json(),
            serde_json::json!([])
        );
        assert_eq!(
            anon.post_form("/api/delivery/regions", &[("parent", "35x")])
                .await
                .status,
            400
        );
        // Only for a logged-in buyer.
        assert_eq!(
            anon.post_form("/api/delivery/addresses", &[]).await.status,
            401
        );

        let mut c = Client::new(&app);
        assert_eq!(
            common::register(&mut c, &app, "13811112222", "password-1", "新买家")
                .await
                .status,
            200
        );
        let ok = |region: &str| {
            vec![
                ("recipient".to_owned(), "王五".to_owned()),
                ("mobile".to_owned(), "13811112222".to_owned()),
                ("region_code".to_owned(), region.to_owned()),
                ("detail".to_owned(), "七星村 3 号".to_owned()),
            ]
        };
        for (field, value, why) in [
            ("recipient", "", "recipient"),
            ("mobile", "12345", "mobile"),
            ("mobile", "a@b.cn", "mobile"),
            ("detail", "  ", "detail"),
            ("region_code", "350725", "region_code"),
            ("region_code", "999999999", "region_code"),
            ("region_code", "abc", "region_code"),
        ] {
            let mut f = ok(&t);
            f.retain(|(k, _)| k != field);
            f.push((field.to_owned(), value.to_owned()));
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = c.post_form("/api/delivery/save-address", &refs).await;
            assert_eq!(r.status, 400, "{field}={value:?}: {}", r.body);
            assert_eq!(r.json()["code"], "invalid_address");
            assert_eq!(r.json()["field"], why);
        }
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM addresses WHERE mobile = '13811112222'"
            )
            .await,
            0
        );
        let f = ok(&t);
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let first = c.post_form("/api/delivery/save-address", &refs).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(
            first.json()["is_default"],
            true,
            "the first address is the default"
        );
        assert!(first.json()["region_name"]
            .as_str()
            .unwrap()
            .starts_with("福建省"));
        let mut f2 = f.clone();
        f2.push(("is_default".into(), "true".into()));
        let refs2: Vec<(&str, &str)> = f2.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let second = c
            .post_form("/api/delivery/save-address", &refs2)
            .await
            .json();
        let list = c.post_form("/api/delivery/addresses", &[]).await.json();
        assert_eq!(list[0]["id"], second["id"]);
        assert_eq!(list[1]["is_default"], false);
        // At most 20.
        for _ in 2..20 {
            assert_eq!(
                c.post_form("/api/delivery/save-address", &refs)
                    .await
                    .status,
                200
            );
        }
        let r = c.post_form("/api/delivery/save-address", &refs).await;
        assert_eq!(r.status, 409);
        assert_eq!(r.json()["code"], "too_many_addresses");
        // Nobody else can remove or change one.
        let mut other = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let id = second["id"].to_string();
        assert_eq!(
            other
                .post_form("/api/delivery/remove-address", &[("id", &id)])
                .await
                .status,
            404
        );
        let mut f3 = f.clone();
        f3.push(("id".into(), id.clone()));
        let refs3: Vec<(&str, &str)> = f3.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            other
                .post_form("/api/delivery/save-address", &refs3)
                .await
                .status,
            404
        );
        // Removing the default makes the newest remaining one the default.
        assert_eq!(
            c.post_form("/api/delivery/remove-address", &[("id", &id)])
                .await
                .status,
            200
        );
        let list = c.post_form("/api/delivery/addresses", &[]).await.json();
        assert_eq!(list.as_array().unwrap().len(), 19);
        assert_eq!(list[0]["is_default"], true);
    }

    /// The co-op's seller key and sets its terms.
    async fn set_terms(coop: &mut Client, fields: &[(&str, &str)]) -> (String, common::Response) {
        let terms = coop.post_form("/api/delivery/terms", &[]).await.json();
        let seller = terms[0]["seller"].as_str().unwrap().to_owned();
        let mut f = vec![("seller", seller.as_str())];
        f.extend_from_slice(fields);
        let r = coop.post_form("/api/delivery/save-terms", &f).await;
        (seller, r)
    }

    async fn checkout(
        c: &mut Client,
        key: &str,
        listing: i64,
        extra: &[(&str, &str)],
    ) -> common::Response {
        let l = listing.to_string();
        let mut f = vec![
            ("idempotency_key", key),
            ("items[0][listing_id]", l.as_str()),
            ("items[0][quantity]", "1"),
        ];
        f.extend_from_slice(extra);
        c.post_form("/api/orders/checkout", &f).await
    }

    pub async fn shipping_is_charged_apart_from_income(app: TestApp) {
        let tea = common::listing_id(&app, TEA).await;
        let price: i64 = sqlx::query_scalar("SELECT price_fen FROM listings WHERE id = $1")
            .bind(tea)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        // Terms are checked, and only the seller sets them.
        for (field, value) in [
            ("courier_fee", "abc"),
            ("courier_fee", "501"),
            ("dispatch_hours", "0"),
            ("dispatch_hours", "721"),
            ("free_above", "-1"),
        ] {
            let mut f = vec![("courier_fee", "12"), ("dispatch_hours", "24")];
            f.retain(|(k, _)| *k != field);
            f.push((field, value));
            let (_, r) = set_terms(&mut coop, &f).await;
            assert_eq!(r.status, 400, "{field}={value}: {}", r.body);
            assert_eq!(r.json()["field"], field);
        }
        let (seller, r) = set_terms(
            &mut coop,
            &[
                ("courier_fee", "12"),
                ("free_above", "1000"),
                ("pickup_point", "石屯村部"),
                ("institution_delivery", "true"),
                ("dispatch_hours", "24"),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        assert_eq!(
            buyer
                .post_form(
                    "/api/delivery/save-terms",
                    &[
                        ("seller", &seller),
                        ("courier_fee", "0"),
                        ("dispatch_hours", "1")
                    ]
                )
                .await
                .status,
            403
        );
        // The quote: courier by default with the fee; pick-up offered; institution delivery is
        // for institutions only.
        let l = tea.to_string();
        let q = buyer
            .post_form(
                "/api/orders/quote",
                &[("items[0][listing_id]", &l), ("items[0][quantity]", "1")],
            )
            .await;
        assert_eq!(q.status, 200, "{}", q.body);
        let q = q.json();
        assert_eq!(
            q["groups"][0]["methods"],
            serde_json::json!(["courier", "pickup"])
        );
        assert_eq!(q["groups"][0]["shipping_fen"], 1200);
        assert_eq!(q["total_fen"], price + 1200);
        // Bulky goods add their per-unit surcharge, even when delivery is otherwise free.
        let set_surcharge = |fen: i64| {
            let db = app.db.clone();
            async move {
                sqlx::query("UPDATE listings SET shipping_surcharge_fen = $1 WHERE id = $2")
                    .bind(fen)
                    .bind(tea)
                    .execute(&db.pool)
                    .await
                    .unwrap();
            }
        };
        set_surcharge(300).await;
        let q2 = buyer
            .post_form(
                "/api/orders/quote",
                &[("items[0][listing_id]", &l), ("items[0][quantity]", "2")],
            )
            .await
            .json();
        assert_eq!(q2["groups"][0]["shipping_fen"], 1200 + 600);
        set_surcharge(0).await;
        let r = checkout(
            &mut buyer,
            "ship-inst-0001",
            tea,
            &[
                ("delivery[0][seller]", &seller),
                ("delivery[0][method]", "institution"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["code"], "invalid_delivery");
        // Shipping changed since the buyer's quote: nothing is ordered.
        let r = checkout(
            &mut buyer,
            "ship-seen-0001",
            tea,
            &[
                ("delivery[0][seller]", &seller),
                ("delivery[0][method]", "courier"),
                ("delivery[0][shipping_fen]", "999"),
            ],
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(
            (r.json()["code"].as_str(), r.json()["field"].as_str()),
            (Some("price_changed"), Some("delivery"))
        );
        // Placed by courier: the buyer pays the fee; the households get only the produce.
        let r = checkout(&mut buyer, "ship-courier-0001", tea, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = r.json()["orders"][0].clone();
        assert_eq!(o["shipping_fen"], 1200);
        assert_eq!(o["total_fen"], price + 1200);
        assert_eq!(o["delivery_method"], "courier");
        assert!(o["address"].as_str().unwrap().contains("幸福路"), "{o}");
        let order = o["id"].as_i64().unwrap();
        let r = coop
            .post_form(
                "/api/orders/confirm-payment",
                &[("order_id", &order.to_string()), ("reference", "BANK-1")],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let allocated: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(e.amount_fen) AS BIGINT) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id WHERE i.order_id = $1",
        )
        .bind(order)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert!(
            allocated <= price,
            "shipping never reaches household income: {allocated} > {price}"
        );
        let c = check_ledger(&app.db).await.unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        // Pick-up: no fee and no address needed, the point is on the order.
        let mut fresh = Client::new(&app);
        assert_eq!(
            common::register(&mut fresh, &app, "13822223333", "password-1", "自提")
                .await
                .status,
            200
        );
        let r = checkout(&mut fresh, "ship-none-0001", tea, &[]).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "address_required");
        let r = checkout(
            &mut fresh,
            "ship-pickup-0001",
            tea,
            &[
                ("delivery[0][seller]", &seller),
                ("delivery[0][method]", "pickup"),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = &r.json()["orders"][0];
        assert_eq!(
            (o["shipping_fen"].as_i64(), o["pickup_point"].as_str()),
            (Some(0), Some("石屯村部"))
        );
        assert!(o["address"].is_null());
        // An institution asks for institution delivery and an invoice; the seller sees it.
        let mut school = demo_login(&app, "school@demo.zhunong.cn").await;
        let r = checkout(
            &mut school,
            "ship-invoice-bad1",
            tea,
            &[
                ("invoice_title", "福州市演示中学"),
                ("invoice_tax_no", "12*"),
            ],
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "invalid_invoice");
        let r = checkout(
            &mut school,
            "ship-invoice-0001",
            tea,
            &[
                ("delivery[0][seller]", &seller),
                ("delivery[0][method]", "institution"),
                ("invoice_title", "福州市演示中学"),
                ("invoice_tax_no", "12350100mb0000000x"),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json()["orders"][0]["id"].clone();
        let mine = coop.post_form("/api/orders/to-fulfil", &[]).await.json();
        let seen = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(seen["invoice_title"], "福州市演示中学");
        assert_eq!(seen["invoice_tax_no"], "12350100MB0000000X");
        assert_eq!(seen["unit_name"], "福州市演示中学");
    }

    pub async fn fulfilment_tracks_masks_and_flags(app: TestApp) {
        let tea = common::listing_id(&app, TEA).await;
        let mut buyer = demo_login(&app, "buyer@demo.zhunong.cn").await;
        let mut coop = demo_login(&app, "coop.zhenghe@demo.zhunong.cn").await;
        let r = checkout(&mut buyer, "fulfil-0001", tea, &[]).await;
        let order = r.json()["orders"][0]["id"].as_i64().unwrap();
        let o = order.to_string();
        let find = |page: &serde_json::Value| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == order)
                .cloned()
        };
        // To do: unpaid and paid orders; the recipient in full while the order runs.
        let todo = coop
            .post_form("/api/orders/to-fulfil", &[("todo", "1")])
            .await
            .json();
        assert!(find(&todo).is_some());
        assert!(todo["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| matches!(x["status"].as_str(), Some("placed" | "paid"))
                || x["refund_due"] == true));
        coop.post_form(
            "/api/orders/confirm-payment",
            &[("order_id", &o), ("reference", "BANK-2")],
        )
        .await;
        // Past the dispatch promise: flagged.
        sqlx::query("UPDATE orders SET paid_at = paid_at - 49 * 3600 WHERE id = $1")
            .bind(order)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let seen = find(&coop.post_form("/api/orders/to-fulfil", &[]).await.json()).unwrap();
        assert_eq!(seen["overdue"], true, "{seen}");
        assert_eq!(seen["recipient"], "陈爱心（演示）");
        assert_eq!(seen["mobile"], "13900000001");
        let r = coop
            .post_form(
                "/api/orders/ship",
                &[
                    ("order_id", &o),
                    ("courier", "京东物流"),
                    ("tracking_no", "JD0001234567"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let mine = find(&buyer.post_form("/api/orders/mine", &[]).await.json()).unwrap();
        assert_eq!(
            (mine["courier"].as_str(), mine["tracking_no"].as_str()),
            (Some("京东物流"), Some("JD0001234567"))
        );
        assert!(mine["auto_receive_at"].as_i64().is_some());
        // Nobody confirms receipt for the buyer; ten days after shipping it confirms itself.
        assert_eq!(
            coop.post_form("/api/orders/deliver", &[("order_id", &o)])
                .await
                .status,
            403
        );
        sqlx::query("UPDATE orders SET shipped_at = shipped_at - 11 * 86400 WHERE id = $1")
            .bind(order)
            .execute(&app.db.pool)
            .await
            .unwrap();
        let n = zhunong::orders::server::auto_receive(&app.db, zhunong::server::db::now(), 10)
            .await
            .unwrap();
        assert!(n >= 1);
        let mine = find(&buyer.post_form("/api/orders/mine", &[]).await.json()).unwrap();
        assert_eq!(
            (mine["status"].as_str(), mine["delivered_by"].as_str()),
            (Some("delivered"), Some("auto"))
        );
        // The buyer still sees the address; the seller, once delivered, sees it masked, and the
        // to-do list no longer holds it.
        assert_eq!(mine["mobile"], "13900000001");
        let seen = find(&coop.post_form("/api/orders/to-fulfil", &[]).await.json()).unwrap();
        assert_eq!(
            (
                seen["recipient"].as_str(),
                seen["mobile"].as_str(),
                seen["address"].as_str()
            ),
            (Some("陈******"), Some("139****0001"), Some("***"))
        );
        assert!(find(
            &coop
                .post_form("/api/orders/to-fulfil", &[("todo", "1")])
                .await
                .json()
        )
        .is_none());
    }
}
