//! Interface strings in Simplified Chinese (default) and English.
//!
//! Every user-visible string lives in the table below: one key, its zh-CN text and its English
//! text. Views read the current language from context ([`use_lang`]) so a switch re-renders in
//! place; server code picks the language of the request (cookie `zn_lang`, then
//! `Accept-Language`) so error messages reach API clients in their language too.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Name of the cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "zn_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The BCP 47 tag used in `<html lang>` and in the cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Of a text a user wrote in Chinese and (optionally) English, the one for this language:
    /// the other one where this one is empty. Titles, stories and names are shown through it.
    pub fn pick(self, zh: &str, en: &str) -> String {
        let (first, second) = match self {
            Lang::Zh => (zh, en),
            Lang::En => (en, zh),
        };
        if first.trim().is_empty() {
            second
        } else {
            first
        }
        .to_owned()
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Parses a cookie value or a language tag; anything that is not English means Chinese.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t.starts_with("en") {
            Some(Lang::En)
        } else if t.starts_with("zh") {
            Some(Lang::Zh)
        } else {
            None
        }
    }

    /// The language of a request: the `zn_lang` cookie wins, then the first language in
    /// `Accept-Language` that we speak, else Chinese.
    pub fn from_headers(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(v) = cookie.and_then(|c| cookie_value(c, LANG_COOKIE)) {
            if let Some(l) = Lang::from_tag(v) {
                return l;
            }
        }
        if let Some(al) = accept_language {
            for part in al.split(',') {
                let tag = part.split(';').next().unwrap_or("");
                if let Some(l) = Lang::from_tag(tag) {
                    return l;
                }
            }
        }
        Lang::Zh
    }
}

/// Finds `name=value` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

macro_rules! messages {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A user-visible string. `t(lang)` gives its text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types)]
        pub enum T { $($key),* }

        /// The texts in the keys' order, one table per language: `t` is an index into one.
        /// (A `match` on key and language compiled to 16 bytes of code per text, 26 KB in the
        /// first WebAssembly download; a table is 8 bytes of data per text.)
        static ZH: &[&str] = &[$($zh),*];
        static EN: &[&str] = &[$($en),*];

        impl T {
            pub fn t(self, lang: Lang) -> &'static str {
                let table = match lang {
                    Lang::Zh => ZH,
                    Lang::En => EN,
                };
                table[self as usize]
            }
        }

        #[cfg(test)]
        const ALL: &[T] = &[$(T::$key),*];
    };
}

messages! {
    app_name => "助农集市", "Zhunong Market";
    meta_site => "助农集市：以购代捐，买农户的好货，每一笔销售都记入受益农户的收入台账。", "Zhunong Market: buy from rural households instead of donating; every sale is recorded in the income ledger of the households it benefits.";
    meta_market => "集市：农户和合作社的农产品，滞销和认证扶贫产品一目了然，每件货品写明多少钱到农户手里。", "The market: produce of rural households and co-ops, with stalled and certified produce marked and how much of each price reaches the households.";
    meta_live => "县长带你买好货：即将开始、正在直播和往期的直播带货，边看边买，每一单都记入受益农户的收入台账。", "Livestream sales: coming, live and past events; buy while you watch, and every order is recorded for the households it benefits.";
    meta_register => "注册助农集市账户：个人、单位、合作社和农户都可以注册，买农户的好货或出售自家的农产品。", "Register with Zhunong Market as a person, an institution, a co-op or a household, to buy from rural households or sell your produce.";
    app_tagline => "以购代捐 · 买农户的好货，助农户增收", "Buy instead of donate: your purchase becomes a rural household's income";
    nav_home => "首页", "Home";
    nav_login => "登录", "Log in";
    nav_register => "注册", "Register";
    nav_logout => "退出", "Log out";
    nav_account => "我的账户", "My account";
    nav_households => "农户台账", "Households";
    nav_orders => "我的订单", "My orders";
    nav_seller => "我的货品", "My produce";
    nav_admin => "管理", "Admin";
    nav_main => "主导航", "Main navigation";
    nav_menu => "菜单", "Menu";
    lang_switch => "English", "中文";
    lang_switch_label => "切换到英文", "Switch to Chinese";
    skip_to_content => "跳到正文", "Skip to content";

    home_counties_title => "帮扶县区", "Counties we work with";
    county_produce => "本县农产品", "Produce from this county";
    county_no_produce => "这个县还没有在售的农产品。", "Nothing from this county is on sale yet.";
    county_all_produce => "查看本县全部农产品", "All produce from this county";
    home_counties_intro => "以下县区的农户与合作社正在集市上销售农产品。", "Households and co-ops in these counties sell their produce here.";
    home_col_county => "县区", "County";
    home_col_city => "所属市", "City";
    home_col_households => "农户数", "Households";
    home_col_orgs => "合作社/企业", "Co-ops & firms";
    home_empty => "还没有县区数据。运行 zhunong seed --demo 载入演示数据。", "No counties yet. Run `zhunong seed --demo` to load the demo data.";
    home_how_title => "以购代捐怎么做", "How purchase-in-lieu-of-donation works";
    home_how_1 => "选购农户和合作社的农产品", "Choose produce from households and co-ops";
    home_how_2 => "每一笔销售都记入受益农户的收入台账", "Every sale is posted to the income record of each household it benefits";
    home_how_3 => "干部按辖区监测农户收入，防止返贫", "Officials monitor household incomes in their region to prevent relapse into poverty";

    loading => "加载中…", "Loading…";
    login_title => "登录", "Log in";
    login_field => "手机号或邮箱", "Phone number or e-mail";
    login_field_hint => "11 位手机号，或邮箱地址", "11-digit mobile number, or an e-mail address";
    password_field => "密码", "Password";
    password_hint => "至少 8 位", "At least 8 characters";
    display_name_field => "称呼", "Display name";
    login_submit => "登录", "Log in";
    register_title => "注册账户", "Create an account";
    register_submit => "注册", "Register";
    register_have_account => "已有账户？去登录", "Already registered? Log in";
    login_no_account => "还没有账户？注册", "No account yet? Register";
    login_success => "登录成功", "Logged in";
    register_success => "注册成功，已为你登录", "Registered and logged in";
    register_code_sent => "验证码已发送到你填写的手机号或邮箱，15 分钟内有效。请输入验证码完成注册。", "A code was sent to the phone number or e-mail address you entered; it is valid for 15 minutes. Enter it to finish registering.";
    code_field => "验证码", "Code";
    orders_older => "更早的订单 →", "Older orders →";
    orders_newest => "← 最新订单", "← Newest orders";
    orders_pages => "订单分页", "Order pages";
    code_field_hint => "6 位数字", "6 digits";
    register_confirm_submit => "完成注册", "Finish registering";
    register_start_over => "重新填写", "Start over";
    login_forgot => "忘记密码？", "Forgot your password?";
    reset_title => "找回密码", "Reset your password";
    reset_intro => "输入注册时用的手机号或邮箱，我们会发送验证码。", "Enter the phone number or e-mail address you registered with and we will send a code.";
    reset_send => "发送验证码", "Send a code";
    reset_code_sent => "如果该账户存在，验证码已发送，15 分钟内有效。", "If that account exists, a code has been sent; it is valid for 15 minutes.";
    reset_new_password => "新密码", "New password";
    reset_submit => "设置新密码并登录", "Set the new password and log in";
    password_change_title => "修改密码", "Change password";
    password_current => "当前密码", "Current password";
    password_change_submit => "修改密码", "Change password";
    password_changed => "密码已修改，其他设备上的登录已退出。", "Password changed; you were logged out on other devices.";
    logout_all_title => "在所有设备上退出", "Log out everywhere";
    logout_all_hint => "手机丢了或在别人的电脑上登录过？这会结束这个账户的全部登录。", "Lost a phone or logged in on someone else's computer? This ends every session of this account.";
    logout_all_submit => "在所有设备上退出", "Log out on every device";
    notice_register_code => "【助农集市】你的注册验证码是 {code}，15 分钟内有效。如非本人操作请忽略。", "[Zhunong] Your registration code is {code}, valid for 15 minutes. If you did not ask for it, ignore this message.";
    notice_register_existing => "【助农集市】有人尝试用你的手机号或邮箱注册。你已有账户：请直接登录；忘记密码可在登录页找回。如非本人操作请忽略。", "[Zhunong] Someone tried to register with your phone number or e-mail address. You already have an account: log in, or reset your password from the log-in page. If this was not you, ignore this message.";
    notice_reset_code => "【助农集市】你的找回密码验证码是 {code}，15 分钟内有效。如非本人操作请忽略，你的密码不会改变。", "[Zhunong] Your password reset code is {code}, valid for 15 minutes. If you did not ask for it, ignore this message; your password stays the same.";
    welcome => "你好，", "Hello, ";
    account_title => "我的账户", "My account";
    account_role => "角色", "Role";
    account_region => "辖区", "Region";
    account_login => "登录名", "Log-in";
    account_need_login => "请先登录。", "Please log in first.";

    role_buyer => "买家", "Buyer";
    role_institution_buyer => "单位采购人", "Institution buyer";
    role_household => "农户", "Household";
    role_cadre => "帮扶干部", "Paired cadre";
    role_org_manager => "合作社/企业负责人", "Co-op / enterprise manager";
    role_official => "监测干部", "Official";
    role_admin => "管理员", "Administrator";

    households_title => "辖区农户收入台账", "Household incomes in your region";
    households_line => "监测线", "Monitoring line";
    households_col_name => "户主", "Head of household";
    households_col_village => "村", "Village";
    households_col_members => "人口", "Members";
    households_col_income => "滚动12个月人均收入", "Rolling 12-month per capita";
    households_col_status => "状态", "Status";
    households_col_links => "利益联结", "Benefit links";
    households_summary => "户，其中低于监测线", "households; below the monitoring line:";
    households_near => "接近监测线", "near it:";
    status_below => "低于监测线", "Below line";
    status_near => "接近监测线", "Near line";
    status_above => "高于监测线", "Above line";
    status_unknown => "无数据", "No data";
    yuan_per_person_year => "每人每年", "per person per year";

    nav_market => "逛集市", "Market";
    nav_cart => "购物车", "Cart";
    nav_seller_orders => "待处理订单", "Orders to fulfil";
    market_title => "集市", "Market";
    market_search => "搜索货品、产地", "Search produce or origin";
    market_search_button => "搜索", "Search";
    market_all_categories => "全部品类", "All categories";
    market_all_counties => "全部县区", "All counties";
    market_only_certified => "只看扶贫产品", "Certified only";
    market_only_stalled => "只看滞销", "Stalled only";
    market_only_monitored => "惠及监测户", "Helps households under monitoring";
    listing_edit => "编辑商品", "Edit listing";
    listing_view => "查看商品页", "View the listing";
    listing_details => "商品信息", "Listing details";
    photos_title => "照片", "Photos";
    photos_choose => "选择照片（可多选）", "Choose photos (several at once)";
    photos_hint => "每件商品最多 6 张；JPEG、PNG 或 WebP，每张不超过 5 MB。照片会自动裁出缩略图，并去除拍摄位置等信息。", "Up to 6 per listing; JPEG, PNG or WebP, at most 5 MB each. Thumbnails are made for you, and location and camera data are removed.";
    photos_upload => "上传照片", "Upload photos";
    photos_added => "照片已上传", "Photos uploaded";
    photo_label => "照片", "Photo";
    photo_delete => "删除", "Delete";
    market_sort => "排序", "Sort";
    sort_need => "最需要帮助", "Most in need";
    sort_newest => "最新上架", "Newest";
    sort_price_asc => "价格从低到高", "Price: low to high";
    sort_price_desc => "价格从高到低", "Price: high to low";
    market_empty => "没有找到符合条件的货品。", "No produce matches.";
    market_results => "货品", "Produce";
    market_count => "共 {n} 件货品", "{n} listings";
    market_suggestions => "看看这些急需帮销和已认定的扶贫产品", "Try these: stalled and certified produce";
    market_filters => "筛选与排序", "Filters and sort";
    market_apply => "应用筛选", "Apply";
    seller_my_listings => "我的货品", "My listings";
    income_col_date => "日期", "Date";
    income_col_source => "来源", "Source";
    income_col_note => "备注", "Note";
    income_col_amount => "金额（元）", "Amount (yuan)";
    pages_first => "← 第一页", "← First page";
    pages_next => "下一页 →", "Next page →";
    market_pages => "货品分页", "Produce pages";
    seller_listings_pages => "我的货品分页", "Pages of my listings";
    households_pages => "农户分页", "Household pages";
    ledger_pages => "收入明细分页", "Pages of income entries";
    ledger_older => "更早的明细 →", "Older entries →";
    ledger_newest => "← 最新明细", "← Newest entries";
    home_stalled_title => "滞销急需帮扶", "Stalled produce: help needed now";
    home_featured_title => "助农好货", "Produce from our households";
    home_see_all => "逛全部货品 →", "See all produce →";
    badge_stalled => "滞销", "Stalled";
    badge_certified => "扶贫产品", "Certified";
    sold_out => "已售罄", "Sold out";
    in_stock => "库存", "In stock";
    per => "每", "per";
    listing_origin => "产地", "Origin";
    listing_seller => "卖家", "Seller";
    listing_harvest => "采收日期", "Harvested";
    listing_breakdown => "这笔钱去了哪里", "Where your money goes";
    listing_breakdown_lead => "每份售价中，直接进入农户收入的部分：", "Of each unit's price, this much goes straight into household incomes:";
    listing_goes_to => "归", "to";
    listing_rest => "其余归卖家，用于收购加工、包装物流和经营成本（卖家未逐项申报）", "the rest stays with the seller for processing, packing, delivery and running costs (not declared item by item)";
    listing_cost => "卖家申报：收购加工与人工", "declared by the seller: buying, processing and labour";
    listing_logistics => "卖家申报：包装与物流", "declared by the seller: packing and delivery";
    listing_margin => "卖家申报：经营利润", "declared by the seller: the seller's margin";
    listing_rest_undeclared => "其余卖家未申报用途", "the rest, which the seller has not declared";
    listing_added => "这件货品已为农户增收", "This listing has added to household incomes";
    listing_added_none => "第一笔订单付款后，货款就记入农户的收入账本", "Once its first order is paid, the money is entered in the households' income records";
    listing_stories => "农户的故事", "The households' stories";
    listing_shop => "进店看看", "Visit the shop";
    listing_share => "分享这件货品", "Share this produce";
    terms_hint_per_unit => "每卖出一件，各户得到多少元。不分给的农户留空。", "Yuan each household receives for every unit sold. Leave households that get nothing empty.";
    terms_hint_shares => "各户分得售价的百分之几。不分给的农户留空。", "The percent of the price each household receives. Leave households that get nothing empty.";
    terms_filter => "按姓名或村查找农户", "Find a household by name or village";
    terms_none_chosen => "还没有为任何农户填写", "No household has an amount yet";
    terms_malformed => "请为每户填写大于 0 的数字（最多两位小数），不分给的农户留空", "Enter a number above 0 for each household (two decimals at most); leave the others empty";
    terms_price_first => "先填写单价，这里会算出每件归农户多少", "Enter the price, and this shows how much of each unit goes to households";
    terms_total => "每件归农户合计", "Per unit to households";
    terms_unit_yuan => "元/件", "yuan/unit";
    terms_of_price => "单价", "price";
    terms_exceeds => "超过了单价，保存时会被拒绝", "more than the price; saving will be refused";
    nav_notices => "消息", "Messages";
    notices_title => "消息", "Messages";
    notices_none => "还没有消息。订单付款、发货、收货和退款时，这里会告诉你。", "No messages yet. You will be told here when an order is paid, shipped, received or refunded.";
    notices_read_all => "全部标为已读", "Mark all read";
    notices_new => "新", "New";
    notices_pages => "消息分页", "Pages of messages";
    shop_kind_coop => "合作社", "Co-op";
    shop_kind_enterprise => "农业企业", "Agri-enterprise";
    shop_kind_household => "农户自营", "Household";
    shop_kind_village => "村庄", "Village";
    shop_products => "主营", "Products";
    shop_village => "所在村：", "Village:";
    shop_figures => "本店成绩", "What this shop has done";
    shop_units => "今年售出（件）", "Units sold this year";
    shop_added => "今年为农户增收", "Added to household incomes this year";
    shop_households => "受益农户（户）", "Households it benefits";
    shop_none_yet => "今年还没有付款的订单。第一笔付款后，货款就按约定记入受益农户的收入台账，这里会显示售出多少、为农户增收多少。", "No paid orders yet this year. Once the first is paid, the money goes to the income records of the households it benefits, and this shop shows what it sold and added.";
    shop_events => "直播预告", "Upcoming livestreams";
    shop_live_now => "直播中", "Live now";
    shop_sellers => "在这里种养、销售的卖家", "Who grows and sells here";
    shop_listings => "在售货品", "Produce";
    shop_no_listings => "这里暂时没有在售的货品。", "Nothing on sale here right now.";
    shop_pages => "本店货品分页", "Pages of this shop's produce";
    shop_certificates => "扶贫产品认定", "Poverty-alleviation product certificates";
    shop_share => "分享本店", "Share this shop";
    shop_edit => "编辑店铺介绍", "Edit this shop's words";
    seller_shops => "我的店铺", "My shops";
    shop_edit_title => "店铺介绍", "This shop's words";
    shop_edit_lead => "买家在店铺页看到的名称和介绍。英文内容选填，在英文页面上显示。", "The name and story buyers see on the shop's page. English is optional and shown on English pages.";
    shop_field_name_en => "英文名称（选填）", "Name in English (optional)";
    shop_field_story => "店铺介绍", "Story";
    shop_field_story_en => "英文介绍（选填）", "Story in English (optional)";
    shop_story_consent => "这户农户尚未同意公开姓名和故事：介绍会保存，但在同意之前不会在店铺页显示。", "This household has not agreed to be named: the story is kept, but not shown on the shop's page until it agrees.";
    shop_back => "返回店铺", "Back to the shop";
    shop_saved => "已保存。", "Saved.";
    share_short => "短链接", "Short link";
    share_qr_alt => "二维码：扫码打开", "QR code: scan to open";
    share_download => "下载二维码（SVG，可打印）", "Download the QR code (SVG, for printing)";
    listing_certificate => "扶贫产品认定", "Poverty-alleviation product certificate";
    quantity => "数量", "Quantity";
    add_to_cart => "加入购物车", "Add to cart";
    added_to_cart => "已加入购物车", "Added to the cart";
    cart_title => "购物车", "Cart";
    cart_empty => "购物车是空的。", "Your cart is empty.";
    cart_remove => "移除", "Remove";
    cart_total => "合计", "Total";
    cart_note => "价格以下单时为准，由服务器计算。", "Prices are taken from the market when you place the order.";
    checkout => "提交订单", "Place order";
    checkout_login => "登录后下单", "Log in to order";
    buy_title => "立即购买", "Buy now";
    buy_now => "立即购买", "Buy now";
    buy_login_first => "登录后即可下单，登录后回到这里。", "Log in to order; you will come back here.";
    buy_update => "更新价格", "Update price";
    buy_update_hint => "改了数量、地址或配送方式，先点“更新价格”看运费和合计。", "Changed the quantity, address or delivery? Press “Update price” to see shipping and the total.";
    orders_title => "我的订单", "My orders";
    orders_empty => "还没有订单。", "No orders yet.";
    order_no => "订单", "Order";
    order_seller => "卖家", "Seller";
    order_buyer => "买家", "Buyer";
    order_cancel => "取消订单", "Cancel order";
    order_confirm_delivery => "确认收货", "Confirm delivery";
    order_confirm_payment => "确认已收款", "Confirm payment received";
    order_ship => "已发货", "Mark shipped";
    order_refund => "退款", "Refund";
    order_impact => "助农成效", "Impact";
    order_pay => "去付款", "Pay";
    order_paid_with => "付款方式：", "Paid with:";
    order_refund_due => "订单取消后仍收到了一笔付款，卖家退款后即了结。", "A payment arrived after the order was cancelled; the seller's refund settles it.";
    order_cancel_confirm => "确定取消这笔订单吗？取消后无法恢复。", "Cancel this order? This cannot be undone.";
    order_refund_confirm => "确定退款吗？款项将原路退回，农户的这笔收入也会冲减。", "Refund this order? The money goes back the way it came, and the households' income is reversed.";
    order_transfer_reference => "转账流水号", "Transfer reference";
    pay_title => "付款", "Pay";
    pay_wechat => "微信支付", "WeChat Pay";
    pay_alipay => "支付宝", "Alipay";
    pay_transfer => "对公转账", "Bank transfer";
    pay_choose => "选择付款方式", "Choose how to pay";
    pay_order_no => "订单号", "Order";
    pay_amount => "应付", "Amount";
    pay_not_needed => "这笔订单现在无需付款（已付款、已取消或已过期）。", "This order needs no payment now (paid, cancelled or expired).";
    pay_scan => "请用微信扫一扫下方二维码付款。", "Scan the code below with WeChat to pay.";
    pay_open_fake => "打开模拟支付页（测试环境，代替扫码）", "Open the fake payment page (test setup, instead of scanning)";
    pay_after => "付款后本页会自动更新；没有更新时可", "This page updates once you have paid; if it does not,";
    pay_refresh => "刷新", "reload it";
    pay_continue => "前往付款", "Continue to pay";
    pay_account_name => "户名", "Account name";
    pay_bank => "开户行", "Bank";
    pay_account_no => "账号", "Account number";
    pay_remark => "转账附言", "Remark";
    pay_transfer_note => "请在转账附言中写上面的订单号；卖家核对到账后确认收款。", "Put the order number above in the transfer's remark; the seller confirms once the money arrives.";
    pay_transfer_by_seller => "本站没有设置收款账户：请向卖家索取账户，转账时附言写订单号。", "This site has no collection account set: ask the seller for theirs, and put the order number in the remark.";
    pay_back_to_orders => "返回我的订单", "Back to my orders";
    status_placed => "待付款", "Awaiting payment";
    status_paid => "已付款", "Paid";
    status_shipped => "已发货", "Shipped";
    status_delivered => "已送达", "Delivered";
    status_cancelled => "已取消", "Cancelled";
    status_refunded => "已退款", "Refunded";
    impact_lead => "这笔订单中进入农户收入的金额", "Of this order, this much became household income";
    impact_households => "户农户受益，分布在", "households benefit, in";
    impact_lifted => "户因此今年人均收入越过监测线", "households passed the monitoring line this year thanks to it";
    impact_lifted_none => "这笔收入计入他们今年的收入，村里据此判断谁已稳定越过监测线", "It counts in their income for this year, from which the village judges who is safely above the monitoring line";
    impact_pending => "卖家确认收款后，这笔钱将记入农户收入台账。", "Once the seller confirms payment, this money is posted to the households' income records.";
    impact_share => "分享这份去向", "Share where this money went";
    impact_share_hint => "生成一个公开链接和二维码：只显示买了什么、多少钱进了农户收入、来自哪些村，不显示您的名字。", "Makes a public link and QR code: it shows what was bought, how much became household income and in which villages, never your name.";
    impact_share_title => "这份去向的链接", "Link to this receipt";
    impact_share_open => "打开公开页面", "Open the public page";
    impact_unshare => "停止分享", "Stop sharing";
    impact_public_title => "以购代捐：一份订单的去向", "Purchase in lieu of donation: where one order's money went";
    impact_public_bought => "买了什么", "What was bought";
    impact_public_total => "订单金额", "Order total";
    impact_public_month => "购买于", "bought in";
    impact_public_cta => "去集市看看", "Browse the market";
    seller_orders_title => "待处理订单", "Orders to fulfil";
    income_title => "农户收入台账", "Household income record";
    income_year_total => "今年收入", "Income this year";
    income_per_capita => "今年人均（核实）", "Verified per capita this year";
    income_baseline => "上年人均", "Last year per capita";
    income_distance => "距监测线", "Against the line";
    income_by_month => "按月收入", "Income by month";
    income_by_source => "收入来源", "By source";
    income_recent => "最近记录", "Recent entries";
    income_members => "家庭人口", "Members";
    source_sale => "农产品销售", "Produce sales";
    source_sale_reversal => "销售退款冲减", "Sale refunds";
    source_wages => "务工收入", "Wages";
    source_subsidy => "补贴", "Subsidies";
    source_other_business => "其他经营", "Other business";
    source_other => "其他", "Other";
    view => "查看", "View";
    pledge_title => "以购代捐承诺", "Purchase pledge";
    pledge_progress => "今年已采购", "Purchased this year";
    pledge_of => "，承诺", " of a pledge of";
    pledge_none => "今年尚未登记承诺金额。", "No pledge recorded for this year.";
    pledge_pending => "另有待付款", "Pending payment";
    pledge_pending_orders => "笔订单，付款后计入", "orders, counted once paid";
    seller_title => "我的货品", "My produce";
    seller_new => "上架新货品", "List new produce";
    seller_for_household => "代哪户农户上架", "Listing for household";
    field_title => "品名", "Name";
    field_category => "品类", "Category";
    field_description => "介绍", "Description";
    field_title_en => "英文品名（选填）", "English name (optional)";
    field_description_en => "英文介绍（选填）", "English description (optional)";
    field_costs => "售价中其余部分的用途（每份，元，选填）", "What the rest of the price pays for (per unit, yuan, optional)";
    field_costs_hint => "买家在“这笔钱去了哪里”看到这些数；加上农户所得不能超过售价。", "Buyers see these under “Where your money goes”; with the households' shares they may not exceed the price.";
    field_cost => "收购加工与人工", "Buying, processing and labour";
    field_logistics => "包装与物流", "Packing and delivery";
    field_margin => "经营利润", "Margin";
    field_unit => "销售单位", "Sale unit";
    field_unit_hint => "例如 5斤/箱、250克/罐", "For example 5 jin per box, 250 g per tin";
    field_price => "单价（元）", "Price per unit (yuan)";
    field_stock => "库存", "Stock";
    field_origin => "产地", "Origin";
    field_origin_hint => "12 位行政区划代码（村）", "The village's 12-digit division code";
    field_harvest => "采收日期", "Harvest date";
    field_status => "状态", "Status";
    field_terms_kind => "利益联结方式", "How households benefit";
    terms_per_unit => "订单收购：每份付给农户（元）", "Purchase price paid per unit (yuan)";
    terms_shares => "按比例分成（%）", "Share of each sale (%)";
    field_terms => "受益农户及金额", "Households and amounts";
    listing_status_draft => "草稿", "Draft";
    listing_status_on_sale => "在售", "On sale";
    listing_status_sold_out => "售罄", "Sold out";
    listing_status_withdrawn => "下架", "Withdrawn";
    save => "保存", "Save";
    stalled_form_title => "标记滞销", "Flag as stalled";
    stalled_reason_field => "滞销原因", "Why it is stalled";
    stalled_quantity_field => "待售数量", "Quantity at risk";
    stalled_clear => "取消滞销标记", "Clear the stalled flag";
    certify_title => "登记扶贫产品认定", "Record a certificate";
    certify_number => "认定编号", "Certificate number";
    certify_from => "有效期起", "Valid from";
    certify_until => "有效期至", "Valid until";
    record_title => "记录其他收入", "Record other income";
    record_amount => "金额（元，负数为更正）", "Amount (yuan; negative to correct)";
    record_source => "收入类型", "Source";
    record_note => "备注", "Note";
    saved => "已保存", "Saved";
    not_found_title => "页面不存在", "Page not found";
    not_found_body => "你要找的页面不存在或已移走。", "The page you are looking for does not exist or has moved.";
    back_home => "返回首页", "Back to home";
    error_title => "出错了", "Something went wrong";
    demo_badge => "演示数据", "Demo data";

    err_photo_type => "只能上传 JPEG、PNG 或 WebP 格式的照片", "Photos must be JPEG, PNG or WebP images";
    err_photo_too_large => "每张照片不能超过 5 MB", "Each photo must be at most 5 MB";
    err_photo_unreadable => "无法读取这张照片，请换一张再试", "This photo cannot be read; please try another";
    err_too_many_photos => "每件商品最多 6 张照片", "A listing can have at most 6 photos";
    err_no_photo => "请选择要上传的照片", "Choose a photo to upload";
    err_bad_request => "请求格式不正确", "The request is not in the expected form";
    err_invalid_login => "请输入正确的 11 位手机号或邮箱地址", "Enter a valid 11-digit mobile number or e-mail address";
    err_password_short => "密码至少需要 8 位", "The password must be at least 8 characters";
    err_password_long => "密码不能超过 128 位", "The password must be at most 128 characters";
    err_display_name => "称呼需为 1 到 40 个字符", "The display name must be 1 to 40 characters";
    err_account_exists => "该手机号或邮箱已注册", "An account with this phone number or e-mail already exists";
    err_wrong_credentials => "账户或密码不正确", "Wrong log-in or password";
    err_too_many_attempts => "尝试次数过多，请稍后再试", "Too many attempts; please try again later";
    err_unauthenticated => "请先登录", "Please log in first";
    err_forbidden => "你没有权限执行此操作", "You are not allowed to do this";
    err_out_of_region => "该农户不在你的辖区内", "This household is outside your region";
    err_not_found => "找不到请求的内容", "Not found";
    err_unknown_endpoint => "没有这个接口", "There is no such endpoint";
    err_invalid_region => "行政区划代码不正确", "Invalid administrative division code";
    err_too_large => "请求内容过大", "The request is too large";
    err_invalid_quantity => "数量需为 1 到 9999 的整数", "The quantity must be a whole number from 1 to 9999";
    err_empty_cart => "购物车是空的", "The cart is empty";
    err_listing_unavailable => "该货品不存在或已下架", "This listing does not exist or is no longer on sale";
    err_out_of_stock => "库存不足，请减少数量", "Not enough stock; please order fewer";
    err_out_of_stock_left => "库存不足：只剩 {n} 件，请减少数量", "Not enough stock: only {n} left; please order fewer";
    err_invalid_listing => "货品信息不完整或不正确", "The listing details are incomplete or invalid";
    err_invalid_terms => "利益联结分配不正确：受益农户须为本社联结农户，金额和比例不能超过售价", "Invalid benefit terms: households must be linked to your organisation and amounts may not exceed the price";
    err_invalid_shop_profile => "店铺介绍过长，或填写了这类店铺没有的项目", "The shop's details are too long, or name something this kind of shop does not have";
    err_costs_over_price => "申报的成本、物流和利润加上农户所得，不能超过售价", "Declared costs, delivery and margin plus what households receive may not exceed the price";
    err_invalid_amount => "金额格式不正确", "Invalid amount";
    err_invalid_order_state => "订单当前状态不允许此操作", "The order's current status does not allow this";
    err_bad_signature => "签名无效", "Invalid signature";
    err_replay => "该通知已处理过", "This notification was already processed";
    err_internal => "服务器出错了，请稍后再试", "Server error; please try again later";
    err_unavailable => "服务暂时不可用", "Service temporarily unavailable";
    err_busy => "服务器繁忙，请稍后再试", "The server is busy; please try again in a moment";
    err_control_character => "输入中含有不允许的控制字符", "The input contains control characters, which are not allowed";
    err_cross_site => "该请求来自其他网站，已拒绝", "This request came from another site and was refused";
    err_photo_pixels => "照片像素过多，最多 4000 万像素", "The photo has too many pixels (at most 40 megapixels)";
    err_limit_exceeded => "金额超出上限", "The amount exceeds the allowed maximum";
    err_invalid_code => "验证码不正确或已过期", "The code is wrong or has expired";
    err_own_listing => "不能购买自己销售（或代为销售）的货品", "You cannot buy produce that you sell (or sell for a household)";
    err_idempotency_key_reused => "这个下单编号已用于另一个购物车，请刷新后重新下单", "This checkout key was used for a different cart; reload and order again";
    err_price_changed => "价格已变动，购物车已更新为新价格，请确认后再下单", "The price has changed; your cart shows the new price, check it and order again";
    err_origin_outside_county => "产地须在卖家所在的县（区）内", "The origin must lie in the seller's own county";
    err_stale_listing => "这件货品在你打开表单后已被修改，请刷新后再保存", "This listing changed after you opened the form; reload it and save again";
    err_confirmation_required => "金额较大（超过监测线的倍数），请填写说明并勾选确认", "A large amount (beyond the set multiple of the monitoring line): write a note and tick the confirmation";
    err_note_required => "请写明这笔收入的来由（例如：某企业务工工资、某项补贴）", "Write what this income is (for example: wages from which employer, which subsidy)";
    err_provider_failed => "支付渠道暂时没有应答，请稍后再试或换一种付款方式", "The payment provider did not answer; try again later or choose another way to pay";
    err_transfer_reference => "请填写到账的转账流水号（1–64 个字符）", "Enter the transfer's reference number (1–64 characters)";
    income_verified => "其中核实收入", "Of which verified";
    income_attested => "其中卖家确认的转账", "Of which seller-confirmed transfers";
    income_col_evidence => "凭据", "Evidence";
    evidence_provider => "支付渠道通知", "Payment notification";
    evidence_transfer => "卖家确认转账", "Transfer (seller)";
    evidence_official => "干部记录", "Official's record";
    evidence_none => "早期记录", "Earlier record";
    impact_verified => "这笔款项由支付渠道核实，计入农户的核实收入。", "The payment was confirmed by the payment provider: it counts as the households' verified income.";
    impact_attested => "这笔款项由卖家确认到账（转账），计入农户收入但不算核实收入。", "The seller confirmed this transfer: it counts as the households' income, but not as verified income.";
    picker_label => "收货地区", "Delivery region";
    picker_choose => "请选择", "Choose";
    picker_next => "下一级", "Next";
    picker_province => "省", "Province";
    picker_city => "市", "City";
    picker_county => "县（区）", "County";
    picker_township => "乡镇（街道）", "Township";
    picker_village => "村（社区）", "Village";
    addresses_title => "收货地址", "Delivery addresses";
    addresses_none => "还没有收货地址。", "No addresses yet.";
    addresses_new => "新增地址", "Add an address";
    addresses_step_region => "先逐级选择地区，再填写收件人和详细地址。", "First choose the region level by level, then the recipient and the detailed address.";
    addresses_need_township => "请选到乡镇（街道）一级。", "Choose down to the township.";
    addresses_recipient => "收件人", "Recipient";
    addresses_mobile => "手机号", "Mobile number";
    addresses_detail => "详细地址（村、门牌号）", "Detailed address (village, number)";
    addresses_unit => "单位名称（单位采购填写）", "Unit name (for institutions)";
    addresses_make_default => "设为默认地址", "Make this the default";
    addresses_default => "默认", "Default";
    addresses_remove => "删除", "Remove";
    addresses_manage => "管理收货地址", "Manage addresses";
    terms_title => "配送设置", "Delivery terms";
    terms_courier_fee => "快递运费（元/单）", "Courier fee (yuan per order)";
    terms_free_above => "满多少元包邮（留空为不包邮）", "Free delivery from (yuan; empty for never)";
    terms_pickup => "村级自提点（留空为不提供自提）", "Village pick-up point (empty for none)";
    terms_dispatch_hours => "承诺发货时间（小时）", "Ships within (hours)";
    terms_institution => "为单位客户送货上门", "Deliver to institutions";
    listing_surcharge => "大件运费附加（元/件，可空）", "Bulky-goods shipping surcharge (yuan per unit, optional)";
    pay_transfer_only => "本站尚未接入在线支付，目前只支持对公转账。", "This site has no online payment set up yet: bank transfer only.";
    households_col_verified => "今年核实收入", "Verified income this year";
    households_col_attested => "卖家确认转账", "Seller-confirmed transfers";
    pay_qr_label => "微信支付二维码", "WeChat Pay QR code";
    shipping_free => "包邮", "Free";
    shipping => "运费", "Shipping";
    goods => "商品", "Produce";
    grand_total => "合计（含运费）", "Total (with shipping)";
    delivery_method => "配送方式", "Delivery";
    method_courier => "快递", "Courier";
    method_pickup => "自提", "Pick-up";
    method_institution => "单位配送", "Delivery to the unit";
    ships_within => "承诺发货：", "Ships within:";
    hours_suffix => "小时内", "hours";
    deliver_to => "收货地址", "Deliver to";
    no_address => "请先添加收货地址。", "Add a delivery address first.";
    invoice_title => "发票抬头（可选）", "Invoice title (optional)";
    invoice_tax_no => "纳税人识别号（可选）", "Tax number (optional)";
    invoice => "发票", "Invoice";
    pickup_at => "自提点：", "Pick up at:";
    courier_company => "快递公司", "Courier";
    tracking_no => "运单号", "Tracking number";
    shipped_with => "已发货：", "Shipped:";
    overdue => "已超过发货承诺", "Past the dispatch promise";
    dispatch_by => "应于此前发货：", "Ship by:";
    auto_receive_note => "发货后如未确认，将自动确认收货：", "If not confirmed, receipt is confirmed automatically on:";
    delivered_auto => "（系统自动确认收货）", "(receipt confirmed automatically)";
    orders_todo => "只看待处理", "Only what needs action";
    orders_all => "全部订单", "All orders";
    order_deliver_confirm => "确认已收到货物吗？", "Confirm that the goods arrived?";
    err_address_required => "请选择收货地址（或改为自提）", "Choose a delivery address (or pick-up)";
    err_invalid_address => "收货地址信息不完整或有误", "The address is incomplete or wrong";
    err_too_many_addresses => "收货地址最多 20 个，请先删除不用的地址", "At most 20 addresses: remove one you no longer use";
    err_invalid_delivery => "配送方式或设置不正确", "The delivery method or terms are not valid";
    err_invalid_tracking => "请选择快递公司并填写运单号（6–30 位字母或数字）", "Choose the courier and enter the tracking number (6–30 letters or digits)";
    err_invalid_step => "这一步现在不能做：请按 报告 → 核实 → 公示 → 识别 → 走访 → 消除 的顺序办理（可能已有人先办了）", "This step cannot be taken now: reports go report → verify → notice → identify → visits → exit (someone may have done it first)";
    err_notice_running => "村内公示期（5 天）还未结束，期满后才能识别纳入", "The village notice period (5 days) has not run yet; identification comes after it";
    err_consent_required => "核实需要农户本人同意，请勾选", "Verification needs the household's consent: tick the box";
    err_review_done => "这户本季度已做过成效评估", "This household's effect review for this quarter is done";
    live_title => "县长带你买好货 · 直播", "Livestream sales";
    live_intro => "县长、合作社带你逛产地：直播时下单，闪购价由服务器把关，每一笔都记入受益农户的收入台账。", "County heads and co-ops show their produce live: buy while you watch, flash prices are enforced by the server, and every sale is recorded against the households it benefits.";
    live_all => "全部直播", "All livestreams";
    live_new => "安排一场直播", "Schedule a livestream";
    live_now => "正在直播", "Live now";
    live_upcoming => "即将开播", "Coming up";
    live_past => "往期直播", "Past livestreams";
    live_none_now => "现在没有直播。", "Nothing is live right now.";
    live_none_upcoming => "暂时没有安排的直播。", "No livestreams are scheduled yet.";
    live_none_past => "还没有结束的直播。", "No livestream has ended yet.";
    live_status_live => "直播中", "Live";
    live_status_ended => "已结束", "Ended";
    live_status_scheduled => "未开播", "Scheduled";
    live_host => "主播", "Host";
    live_orders => "订单", "Orders";
    live_units => "件数", "Units";
    live_gmv => "成交额", "Sales";
    live_buyers => "买家", "Buyers";
    live_households => "受益农户", "Households helped";
    live_income => "农户增收", "Income added";
    live_replay => "看回放", "Watch the replay";
    live_pinned => "正在讲解", "On screen now";
    live_flash => "闪购", "Flash price";
    live_flash_left => "剩余", "Left";
    live_flash_limit => "每人限购", "Per buyer";
    live_no_video => "你的浏览器无法播放这段视频，请用下方链接观看。", "Your browser cannot play this video; use the link below.";
    live_watch_on => "去看直播：", "Watch on";
    live_remind => "加入日历提醒（.ics）", "Add a reminder to your calendar (.ics)";
    live_console => "直播控制台", "Host console";
    live_report => "直播战报", "Event report";
    live_lineup => "直播商品", "In this livestream";
    live_no_lineup => "主播还没有选好商品。", "The host has not picked the produce yet.";
    live_field_title => "直播标题", "Title";
    live_field_host => "主播（页面上显示的名字）", "Host (as shown on the page)";
    live_field_county => "县（6 位区划代码）", "County (6-digit division code)";
    live_field_start => "开始时间（北京时间）", "Starts (China time)";
    live_field_end => "结束时间（北京时间）", "Ends (China time)";
    live_field_stream => "直播流地址（HLS 或 MP4，可不填）", "Stream address (HLS or MP4, optional)";
    live_field_external => "外部直播间链接（抖音、快手、视频号、淘宝直播，可不填）", "Link to the broadcast elsewhere (Douyin, Kuaishou, Channels, Taobao Live; optional)";
    live_field_host_login => "代播账户的登录名（可不填，默认是你自己）", "Log-in of the account that runs it (optional; you by default)";
    live_field_replay => "回放地址（可不填）", "Replay address (optional)";
    live_view_page => "看观众页面", "See the viewers' page";
    live_go_live => "开始直播", "Go live";
    live_end => "结束直播", "End the livestream";
    live_pin => "设为讲解中", "Pin";
    live_unpin => "取消讲解", "Unpin";
    live_unfeature => "移出", "Remove";
    live_start_flash => "开始闪购", "Start a flash sale";
    live_field_flash_price => "闪购价（元，须低于原价）", "Flash price (yuan, below the normal price)";
    live_field_duration => "持续时间", "How long";
    live_secs_30 => "30 秒", "30 seconds";
    live_mins_1 => "1 分钟", "1 minute";
    live_mins_3 => "3 分钟", "3 minutes";
    live_mins_5 => "5 分钟", "5 minutes";
    live_mins_10 => "10 分钟", "10 minutes";
    live_mins_30 => "30 分钟", "30 minutes";
    live_field_cap => "闪购总件数（可不填）", "Units at this price (optional)";
    live_field_limit => "每人限购件数（可不填）", "Per-buyer limit (optional)";
    live_orders_arriving => "新到订单", "Orders arriving";
    live_no_orders => "还没有订单。", "No orders yet.";
    live_col_order => "订单", "Order";
    live_col_item => "商品", "Item";
    live_col_status => "状态", "Status";
    live_col_village => "村", "Village";
    live_suggestions => "本县商品（滞销优先）", "Produce of the county (stalled first)";
    live_feature => "加入直播", "Add";
    live_baseline => "本县平日日均（开播前 30 天）：", "The county's ordinary day (30 days before):";
    live_by_village => "各村受益", "By village";
    live_times_ordinary => "本场成交相当于平日的天数：", "The event sold as much as this many ordinary days:";
    live_no_baseline => "开播前 30 天本县没有其他线上成交，这场直播是本县在平台上的第一批订单。", "The county had no other sales here in the 30 days before: this livestream brought its first orders.";
    nav_live => "直播", "Live";
    err_flash_limit => "超过了闪购每人限购的数量，请减少件数", "That is more than the flash sale allows one buyer; buy fewer";
    err_flash_sold_out => "闪购名额已抢完，现按原价出售", "The flash-sale units are gone; it is back at its normal price";
    err_event_ended => "这场直播已经结束", "This livestream has ended";
    err_unknown_account => "没有这个登录名的账户", "No account has that log-in";
    err_cover_needs_photo => "这件农产品还没有照片，不能作为封面", "This listing has no photo to use as the cover";
    err_not_delivered => "确认收货后才能评价", "You can review it once the order is delivered";
    err_already_reviewed => "这件货品你已经评价过了", "You have already reviewed this item";
    err_already_replied => "这条评价已经回复过了", "This review already has a reply";
    reviews_title => "买家评价", "Reviews";
    reviews_none => "还没有评价。收到货的买家可以在“我的订单”里评价。", "No reviews yet. Buyers who received it can review it from their orders.";
    reviews_average => "平均", "Average";
    reviews_count => "条评价", "reviews";
    reviews_pages => "评价分页", "Pages of reviews";
    reviews_reply_label => "卖家回复", "Seller's reply";
    reviews_reply_button => "回复", "Reply";
    reviews_hidden => "（已隐藏，仅管理员可见）", "(hidden; only administrators see it)";
    reviews_hide => "隐藏", "Hide";
    reviews_show => "恢复显示", "Show again";
    review_write => "评价这件货品", "Review this item";
    review_rating => "评分", "Rating";
    review_body => "说说收到的货（可不填，500 字以内）", "How was it? (optional, up to 500 characters)";
    review_submit => "提交评价", "Submit review";
    review_yours => "你的评价", "Your review";
    review_stars_5 => "5 分 · 很好", "5 · Excellent";
    review_stars_4 => "4 分 · 好", "4 · Good";
    review_stars_3 => "3 分 · 一般", "3 · Fair";
    review_stars_2 => "2 分 · 差", "2 · Poor";
    review_stars_1 => "1 分 · 很差", "1 · Very poor";
    shop_rating => "买家评分", "Buyers' rating";
    live_set_cover => "设为封面", "Use as cover";
    live_is_cover => "封面", "Cover";
    err_exit_too_early => "连续 6 个月收入高于监测线后，才能标注风险消除", "A risk can be marked eliminated only after 6 consecutive months above the line";
    nav_import => "导入农户名册", "Import registry";
    rel_head => "户主", "Head";
    rel_spouse => "配偶", "Spouse";
    rel_child => "子女", "Child";
    rel_parent => "父母", "Parent";
    rel_grandchild => "孙辈", "Grandchild";
    rel_other => "其他", "Other";
    measure_industry => "产业帮扶", "Industry support";
    measure_employment => "就业帮扶", "Employment support";
    measure_social => "社会帮扶", "Social assistance";
    measure_dibao => "低保", "Minimum living allowance (低保)";
    measure_tekun => "特困供养（兜底）", "Extreme-poverty support (兜底)";
    measure_extended => "延保渐退", "support kept on after exit";
    measure_add => "记录帮扶措施", "Record a measure";
    measure_kind => "措施类别", "Kind";
    measure_detail => "内容", "What";
    measure_starts => "开始日期", "Starts";
    measure_ends => "结束日期（延保渐退时填写）", "Ends (for support kept on after exit)";
    task_near_line => "预警：收入接近或低于监测线", "Warning: income near or below the line";
    task_drop => "预警：收入大幅下降", "Warning: income fell sharply";
    task_stalled => "预警：产品滞销", "Warning: produce stalled";
    file_tasks => "待走访预警", "Warnings to visit";
    file_members => "家庭成员", "Members";
    file_measures => "帮扶措施", "Assistance measures";
    file_links => "利益联结：约定与今年实付", "Benefit links: declared and paid this year";
    file_org_pairings => "阳光 1+1 牵手：结对社会组织", "1+1 pairing: social organisations";
    member_name => "姓名", "Name";
    member_relation => "与户主关系", "Relation";
    member_id_number => "身份证号", "ID number";
    member_add => "添加成员", "Add a member";
    member_remove => "删除", "Remove";
    link_order_purchase => "订单收购", "Order purchase";
    link_guaranteed_purchase => "保底收购", "Guaranteed purchase";
    link_employment => "务工就业", "Employment";
    link_dividend => "入股分红", "Dividends";
    link_land_transfer => "土地流转", "Land rent";
    link_declared => "约定每年", "declared a year";
    link_paid => "今年实付", "paid this year";
    link_unpaid => "约定未兑现", "declared, not paid";
    pairing_bought => "今年采购", "bought this year";
    pair_title => "结对帮扶干部", "Pair a cadre";
    pair_end => "解除结对", "End the pairing";
    pair_save => "保存", "Save";
    import_title => "导入农户名册", "Import the household registry";
    import_intro => "上传 CSV 文件（UTF-8）或 Excel 工作簿（.xlsx，读第一张工作表），第一行为下列表头。按户编号匹配：再次导入只更新，不重复；有错的行逐行列出、不导入，其余照常导入。", "Upload a CSV file (UTF-8) or an Excel workbook (.xlsx, its first sheet) whose first row is the header below. Rows match on the registry number: importing again updates, never duplicates; bad rows are listed and skipped, the rest imported.";
    import_file => "CSV 或 Excel 文件", "CSV or Excel file";
    import_submit => "上传并导入", "Upload and import";
    import_progress => "上传进度", "Upload progress";
    import_read => "读取", "Read";
    import_inserted => "新增", "Added";
    import_updated => "更新", "Updated";
    import_failed => "出错", "Refused";
    import_line => "第", "Line";
    dash_org_pairings => "1+1 结对：组织 / 采购", "1+1 pairings / purchases";
    dash_unpaid_links => "约定未兑现的联结", "Links declared, unpaid";
    nav_region => "区域总览", "Region";
    nav_monitoring => "监测报告", "Reports";
    nav_cadre => "我的帮扶户", "My households";
    rolling_definition => "收入口径：滚动 12 个月人均纯收入 = 最近 12 个月（含本月）台账中核实的收入，加上没有台账记录的月份按上年基础人均收入的 1/12 计，除以家庭人口。", "Income against the line: rolling 12-month per-capita income = the verified ledger income of the last 12 months (this month included), plus one twelfth of the last baseline for each month without ledger rows, divided by the members.";
    filter_label => "筛选", "Filter";
    filter_all => "全部", "All";
    filter_below => "低于监测线", "Below the line";
    filter_near => "接近监测线", "Near the line";
    filter_monitored => "监测对象", "Monitoring objects";
    cat_unstable => "脱贫不稳定户", "Unstable after exit";
    cat_marginal => "边缘易致贫户", "Marginal, at risk";
    cat_sudden => "突发严重困难户", "Sudden severe hardship";
    reason_illness => "因病", "Illness";
    reason_disaster => "因灾", "Disaster";
    reason_job_loss => "失业、务工受阻", "Job loss";
    reason_other => "其他", "Other";
    reporter_self => "本户申报", "The household itself";
    reporter_neighbour => "邻居代报", "A neighbour";
    reporter_cadre => "干部代报", "A cadre";
    rstate_submitted => "待核实", "To verify";
    rstate_notice => "公示中", "On notice";
    rstate_identified => "已识别纳入", "Identified";
    rstate_dismissed => "不予纳入", "Dismissed";
    event_identified => "识别纳入", "Identified";
    event_eliminated => "风险消除", "Risk eliminated";
    event_reopened => "重新纳入监测", "Reopened";
    event_other => "变更", "Changed";
    object_monitored => "监测中", "Monitored";
    object_eliminated => "风险已消除", "Risk eliminated";
    report_title => "一键报贫", "Report hardship";
    report_intro => "家里遇到大病、灾害、失业等突发困难，本人、邻居或帮扶干部都可以在这里报告。乡镇会核实，县里会在公示后决定是否纳入监测帮扶。", "If a household meets illness, disaster, job loss or another sudden hardship, the household, a neighbour or a cadre can report it here. The township verifies it; after a public notice the county decides on monitoring and support.";
    report_status_title => "查询办理进度", "Check a report";
    report_receipt => "回执号", "Receipt number";
    report_check => "查询", "Check";
    report_notice_until => "公示至", "Notice until";
    report_form_title => "填写报告", "File a report";
    report_choose_village => "请先逐级选择所在的村。", "First choose the village, level by level.";
    report_reporter => "报告人", "Who reports";
    report_name => "户主或联系人姓名", "Name of the head or contact";
    report_phone => "联系电话", "Phone";
    report_reason => "遇到的困难", "What happened";
    report_detail => "具体情况", "Details";
    report_submit => "提交报告", "Submit";
    report_filed => "已收到。请记下回执号：", "Received. Keep this receipt number:";
    queue_title => "监测报告办理", "Monitoring reports";
    queue_open => "未办结", "Open";
    queue_new_today => "今日新增", "New today";
    queue_new_week => "本周新增", "New this week";
    queue_empty => "没有这一类报告。", "No reports here.";
    queue_household => "对应农户", "Household";
    queue_verification => "核实情况：", "Verification:";
    queue_verification_hint => "入户核实情况（收支对比、家庭情况）", "Verification (visit, income against expenses)";
    queue_consent => "农户本人已同意", "The household consents";
    queue_verify => "核实并公示", "Verify and post notice";
    queue_identify => "识别纳入监测", "Identify for monitoring";
    queue_dismiss => "不予纳入", "Dismiss";
    queue_dismiss_reason => "理由", "Reason";
    file_title => "监测档案", "Monitoring file";
    file_object => "监测状态", "Monitoring";
    file_not_object => "不是监测对象", "Not a monitoring object";
    file_since => "纳入于", "since";
    file_category => "监测类别", "Category";
    file_cadre => "帮扶干部", "Paired cadre";
    file_rolling => "滚动12个月人均", "Rolling 12-month per capita";
    file_months_above => "近 6 个月是否高于监测线", "Last 6 months above the line";
    file_months_above_hint => "（● 高于，○ 未高于；由远及近）", "(● above, ○ not; oldest first)";
    file_exit => "标注风险消除", "Mark risk eliminated";
    file_change_category => "调整监测类别", "Change the category";
    event_category => "调整类别", "Category changed";
    org_title => "结对组织", "Organisation";
    org_intro => "阳光 1+1 牵手计划：社会组织与老区村结对帮扶。下面是本组织结对的村、在村里做的项目，以及今年从各村采购的农产品。", "阳光 1+1: social organisations paired with old revolutionary-base villages. Below are this organisation's paired villages, its projects there, and the produce it bought from each this year.";
    org_bought => "今年从结对村采购", "Bought from its paired villages this year";
    org_villages => "结对村", "Paired villages";
    org_none => "还没有结对村。", "No paired villages yet.";
    org_since => "结对始于", "Paired since";
    org_projects => "帮扶项目", "Projects";
    review_due => "本季度待评估", "Review due this quarter";
    review_title => "季度帮扶成效评估", "Quarterly effect reviews";
    review_do => "填写本季度成效评估", "Review this quarter";
    review_conclusion => "评估结论", "Conclusion";
    review_improving => "收入稳步增长，帮扶见效", "Income rising: the support works";
    review_stable => "基本稳定", "Stable";
    review_at_risk => "仍有返贫风险，需调整措施", "Still at risk: change the measures";
    review_effective_yes => "帮扶措施有效", "The measures work";
    review_effective_no => "帮扶措施效果不明显", "The measures show little effect";
    review_findings => "评估发现", "Findings";
    review_next => "下季度措施", "Next quarter's measures";
    review_change => "较上次评估", "since the last review";
    review_hint => "滚动收入由系统按台账记入，不需填写。每户每季度一次。", "The rolling income is taken from the ledger; you do not type it. One review per household a quarter.";
    file_exit_hint => "需连续 6 个月高于监测线。", "Needs 6 consecutive months above the line.";
    file_reopen => "重新纳入监测", "Reopen monitoring";
    file_visits => "走访记录", "Visits";
    file_history => "监测历程", "Monitoring history";
    visit_log => "记录走访", "Log a visit";
    visit_date => "走访日期", "Date";
    visit_seen => "看到的情况", "What was seen";
    visit_needs => "需求", "Needs";
    visit_next => "下一步", "Next steps";
    visit_overdue => "走访逾期", "Visit overdue";
    cadre_title => "我的帮扶户", "My paired households";
    cadre_last_visit => "最近走访", "Last visit";
    audit_title => "档案查阅与变更记录", "File access log";
    audit_who => "人员", "Who";
    audit_what => "操作", "Action";
    dash_title => "区域监测总览", "Region dashboard";
    dash_trail => "区域层级", "Region levels";
    dash_year => "年度", "Year";
    dash_show => "查看", "Show";
    dash_households => "农户", "Households";
    dash_verified => "平台核实增收", "Verified income added";
    dash_attested => "卖家确认转账", "Seller-confirmed transfers";
    dash_with_sale => "有销售的农户", "Households with a sale";
    dash_gmv => "成交额", "Sales (GMV)";
    dash_stalled => "滞销产品", "Stalled produce";
    dash_links => "利益联结：企业 / 农户", "Benefit links: firms / households";
    dash_pledges => "采购承诺完成", "Pledges fulfilled";
    dash_paired => "已结对监测户", "Monitored, paired";
    dash_open_reports => "未办结报告", "Open reports";
    dash_export => "导出户表：", "Export the households:";
    export_national => "国家防返贫监测系统格式：", "In the national monitoring system's layout:";
    export_regions => "导出此表：", "Export this table:";
    dash_monthly => "每月平台核实增收", "Verified income added by month";
    dash_distribution => "滚动人均收入相对监测线的分布", "Rolling income against the line";
    dash_children => "下级区域", "Regions below";
    dash_region => "区域", "Region";
    err_invalid_invoice => "发票信息不正确（抬头不超过 50 字，税号 15–20 位字母或数字）", "The invoice details are not valid (title up to 50 characters, tax number 15–20 letters or digits)";
    record_confirm => "我已核实这笔收入，确认记录", "I have checked this income and confirm it";
    income_col_by => "记录人", "Recorded by";
    err_too_many_unpaid => "你有多笔未付款的订单，请先付款或取消后再下单", "You have too many unpaid orders; pay or cancel them first";
    order_expires => "请在此时间前付款，否则订单自动取消：", "Pay before this time or the order is cancelled:";
    order_cancel_reason_buyer => "买家已取消", "Cancelled by the buyer";
    order_cancel_reason_seller => "卖家已取消", "Cancelled by the seller";
    order_cancel_reason_admin => "管理员已取消", "Cancelled by an administrator";
    order_cancel_reason_expired => "超时未付款，已自动取消，库存已退回", "Not paid in time: cancelled, stock returned";
    order_seller_cancel => "取消未付款订单", "Cancel unpaid order";
}

/// A month's short name: `3月`, `Mar`.
pub fn month_name(month: usize, lang: Lang) -> String {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Lang::Zh => format!("{month}月"),
        Lang::En => EN
            .get(month.wrapping_sub(1))
            .map_or_else(|| month.to_string(), |m| (*m).to_owned()),
    }
}

/// The current language as a reactive signal, provided by `<App/>`.
#[derive(Clone, Copy)]
pub struct LangSignal(pub RwSignal<Lang>);

pub fn use_lang() -> RwSignal<Lang> {
    use_context::<LangSignal>()
        .map(|s| s.0)
        .unwrap_or_else(|| RwSignal::new(Lang::default()))
}

/// A reactive text for a key, for use inside `view!`.
pub fn tr(key: T) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let lang = use_lang();
    move || key.t(lang.get())
}

/// The language of the request being served (server) or the one chosen in the page (browser).
pub fn current_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        if let Some(parts) = use_context::<http::request::Parts>() {
            let h = |n: http::header::HeaderName| {
                parts
                    .headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            return Lang::from_headers(
                h(http::header::COOKIE).as_deref(),
                h(http::header::ACCEPT_LANGUAGE).as_deref(),
            );
        }
    }
    use_context::<LangSignal>()
        .map(|s| s.0.get_untracked())
        .unwrap_or_default()
}

/// The language the page starts in: on the server, the request's; in the browser, the one the
/// server rendered (`<html lang>`), so hydration sees the same text.
pub fn initial_lang() -> Lang {
    #[cfg(feature = "hydrate")]
    {
        if let Some(tag) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
        {
            return Lang::from_tag(&tag).unwrap_or_default();
        }
    }
    current_lang()
}

/// Remembers the chosen language in the browser (cookie for the server, `<html lang>` for
/// assistive technology). Does nothing on the server.
pub fn remember_lang(lang: Lang) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(el) = doc.document_element() {
                let _ = el.set_attribute("lang", lang.tag());
            }
            if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
                let _ = html.set_cookie(&format!(
                    "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    lang.tag()
                ));
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = lang;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        assert_eq!(ZH.len(), ALL.len());
        assert_eq!(EN.len(), ALL.len());
        for k in ALL {
            assert!(!k.t(Lang::Zh).is_empty(), "{k:?} zh");
            assert!(!k.t(Lang::En).is_empty(), "{k:?} en");
        }
    }

    #[test]
    fn each_key_gives_its_own_text() {
        assert_eq!(T::app_name.t(Lang::Zh), "助农集市");
        assert_eq!(T::app_name.t(Lang::En), "Zhunong Market");
        assert_eq!(T::nav_login.t(Lang::Zh), "登录");
        assert_eq!(T::nav_login.t(Lang::En), "Log in");
        assert_eq!(T::order_seller_cancel.t(Lang::Zh), "取消未付款订单");
        assert_eq!(T::order_seller_cancel.t(Lang::En), "Cancel unpaid order");
    }

    #[test]
    fn cookie_beats_accept_language() {
        assert_eq!(
            Lang::from_headers(Some("a=1; zn_lang=en"), Some("zh-CN")),
            Lang::En
        );
        assert_eq!(
            Lang::from_headers(Some("zn_lang=zh-CN"), Some("en-US")),
            Lang::Zh
        );
        assert_eq!(Lang::from_headers(None, Some("fr, en-GB;q=0.8")), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_headers(Some("zn_lang=xx"), None), Lang::Zh);
    }
}
